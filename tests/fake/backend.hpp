// FakeBackend: the SandboxBackend of the fake (see fake_backend.hpp).
#pragma once

#include "fake_backend.hpp"
#include "process.hpp"
#include "store.hpp"

#include <cstdint>

#include <map>
#include <memory>
#include <mutex>
#include <vector>

namespace hutch::fake {

class FakeBackend final : public SandboxBackend,
                          public std::enable_shared_from_this<FakeBackend> {
 public:
  explicit FakeBackend(FakeOptions options);

  std::string name() const override;
  Capabilities capabilities() const override;
  std::shared_ptr<Handle> create(const SandboxSpec& spec) override;
  std::shared_ptr<Handle> resume(const std::string& id) override;
  std::vector<SandboxInfo> list(const Filter& filter = {}) override;
  void destroy(const std::string& id) override;
  std::vector<std::string> prune(const Filter& filter = {}) override;
  std::shared_ptr<Handle> restore(const std::string& snapshot_id,
                                  const SandboxSpec& overrides) override;
  std::vector<SnapshotInfo> snapshots() override;
  void delete_snapshot(const std::string& snapshot_id) override;
  std::vector<std::string> warnings() override { return options_.warnings; }

  // For the handles.
  Store& store() { return store_; }
  SandboxInfo info_of(const SandboxRecord& record);
  // Whether its ttl or idle timeout has passed (commands running in this process keep it busy).
  bool lifetime_passed(const SandboxRecord& record);
  // Marks it used now (a command ended, a file operation).
  void mark_active(const std::string& sandbox_id) { store_.mark_active(sandbox_id); }
  // Commands started in this process, so destroy() can end them as a real backend would.
  void track(const std::string& sandbox_id, std::weak_ptr<RunState> run);
  // Ends the commands of `sandbox_id` started in this process (destroy, stop): SIGTERM, and
  // SIGKILL to those still running after `grace`.
  void stop_commands(const std::string& sandbox_id, Duration grace);

 private:
  bool commands_running(const std::string& sandbox_id);

  FakeOptions options_;
  Store store_;
  std::mutex runs_mutex_;
  std::map<std::string, std::vector<std::weak_ptr<RunState>>> runs_;
};

}  // namespace hutch::fake
