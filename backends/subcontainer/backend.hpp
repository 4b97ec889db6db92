// The subcontainer backend: sandboxes made of Linux namespaces, an overlayfs root and bind
// mounts, with no daemon. State lives under <state_dir>/subcontainer, so sandboxes outlive the
// process that created them.
#pragma once

#include "runtime.hpp"
#include "sandbox_record.hpp"

#include <hutch/backend.hpp>
#include <hutch/plugin.hpp>

#include <map>
#include <memory>

namespace hutch::subcontainer {

class SubcontainerBackend final : public SandboxBackend {
 public:
  explicit SubcontainerBackend(std::shared_ptr<Runtime> runtime) : runtime_(std::move(runtime)) {}

  std::string name() const override { return runtime_->config.name; }
  Capabilities capabilities() const override;
  std::shared_ptr<Handle> create(const SandboxSpec& spec) override;
  std::shared_ptr<Handle> resume(const std::string& id) override;
  std::vector<SandboxInfo> list(const Filter& filter = {}) override;
  void destroy(const std::string& id) override;
  std::vector<std::string> prune(const Filter& filter = {}) override;
  std::shared_ptr<Handle> restore(const std::string& snapshot_id, const SandboxSpec& overrides) override;
  std::vector<SnapshotInfo> snapshots() override;
  void delete_snapshot(const std::string& snapshot_id) override;
  std::vector<std::string> warnings() override;
  std::vector<VolumeInfo> volumes() override;
  void remove_volume(const std::string& name) override;
  std::string pull_image(const std::string& image, const std::function<void(const PullProgress&)>& progress) override;
  std::vector<hutch::ImageInfo> images() override;
  hutch::ImageInfo inspect_image(const std::string& image) override;
  void remove_image(const std::string& image) override;
  std::vector<std::string> prune_images() override;
  std::string import_image(const std::string& path, const std::string& name) override;

 private:
  // The records of every sandbox that has one (being created or damaged ones are skipped).
  std::vector<SandboxRecord> records() const;
  std::vector<std::string> sandbox_ids() const;
  // "sandbox <id>" for a sandbox whose root has the stored image `image_id` as its top lower
  // layer, or empty.
  std::string sandbox_using(const std::string& image_id) const;
  // Stored image id -> the sandboxes made from it (their pins, else their records).
  std::map<std::string, std::vector<std::string>> sandboxes_by_image() const;
  std::shared_ptr<Runtime> runtime_;
};

std::shared_ptr<SandboxBackend> make_subcontainer_backend(const PluginContext& context);

}  // namespace hutch::subcontainer
