// The Docker Engine backend: sandboxes are containers labelled hutch.managed, created from a
// busybox-capable image (the keep-alive PID 1 and the kill helper need /bin/sh).
#pragma once

#include "config.hpp"
#include "context.hpp"

#include <hutch/backend.hpp>
#include <hutch/plugin.hpp>

#include <memory>
#include <set>
#include <string>

namespace hutch::docker {

class DockerBackend final : public SandboxBackend {
 public:
  // Cheap: nothing talks to the daemon until the first call.
  DockerBackend(std::string name, DockerConfig config, std::shared_ptr<spdlog::logger> logger);

  std::string name() const override { return context_->backend_name; }
  Capabilities capabilities() const override;
  std::shared_ptr<Handle> create(const SandboxSpec& spec) override;
  std::shared_ptr<Handle> resume(const std::string& id) override;
  std::vector<SandboxInfo> list(const Filter& filter = {}) override;
  void destroy(const std::string& id) override;
  std::vector<std::string> prune(const Filter& filter = {}) override;
  std::shared_ptr<Handle> restore(const std::string& snapshot_id, const SandboxSpec& overrides) override;
  std::vector<SnapshotInfo> snapshots() override;
  void delete_snapshot(const std::string& snapshot_id) override;
  // security_warnings.hpp, from the engine's /info; and, without the agent, that lifetimes
  // need prune.
  std::vector<std::string> warnings() override;
  // volumes.hpp: the persistent workspace volumes.
  std::vector<VolumeInfo> volumes() override;
  void remove_volume(const std::string& name) override;

  // image_verbs.hpp.
  std::string pull_image(const std::string& image, const std::function<void(const PullProgress&)>& progress) override;
  std::vector<ImageInfo> images() override;
  ImageInfo inspect_image(const std::string& image) override;
  void remove_image(const std::string& image) override;
  std::vector<std::string> prune_images() override;
  std::string import_image(const std::string& path, const std::string& name) override;
  const std::shared_ptr<Context>& context() const { return context_; }

 private:
  // Removes host directories of sandboxes whose container is gone (a crash between making the
  // directory and the container, or a container removed behind hutch's back).
  void remove_orphan_sandbox_dirs(const std::set<std::string>& existing);
  // The snapshot's image (delete_snapshot also removes its workspace volume).
  void delete_snapshot_image(const std::string& snapshot_id);

  std::shared_ptr<Context> context_;
};

// The plugin factory (see plugins/docker).
std::shared_ptr<SandboxBackend> make_docker_backend(const PluginContext& plugin_context);

}  // namespace hutch::docker
