// RemoteBackend: the sandboxes of a `hutch serve` service, reached over its /v1 API, as a
// SandboxBackend. The service owns them (they outlive the client); this backend only asks.
//
// capabilities() are those of the service's backend (asked once, GET /v1/backends) minus
// what the API does not carry yet (published ports), plus
// `persistent`: a sandbox of the service is reached again by id from any process.
#pragma once

#include "service_client.hpp"
#include "settings.hpp"

#include <hutch/backend.hpp>

#include <memory>
#include <mutex>
#include <optional>
#include <string>

namespace hutch::remote {

class RemoteBackend final : public SandboxBackend {
 public:
  RemoteBackend(std::string name, Settings settings);

  std::string name() const override { return name_; }
  Capabilities capabilities() const override;
  std::shared_ptr<Handle> create(const SandboxSpec& spec) override;
  std::shared_ptr<Handle> resume(const std::string& id) override;
  std::vector<SandboxInfo> list(const Filter& filter) override;
  void destroy(const std::string& id) override;
  std::vector<std::string> prune(const Filter& filter) override;
  std::shared_ptr<Handle> restore(const std::string& snapshot_id, const SandboxSpec& overrides) override;
  std::vector<SnapshotInfo> snapshots() override;
  void delete_snapshot(const std::string& snapshot_id) override;

 private:
  // The service's backend new sandboxes go to: the configured one, else the service's default.
  const std::string& service_backend() const;
  void ask_backends() const;

  std::string name_;
  Settings settings_;
  std::shared_ptr<ServiceClient> client_;
  mutable std::mutex backends_mutex_;
  mutable std::optional<Capabilities> capabilities_;
  mutable std::string service_backend_;
};

std::shared_ptr<SandboxBackend> make_remote_backend(const PluginContext& context);

}  // namespace hutch::remote
