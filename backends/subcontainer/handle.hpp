// One subcontainer sandbox, as seen from the host.
#pragma once

#include "cgroup.hpp"
#include "egress_names.hpp"
#include "file_lock.hpp"
#include "helper_launch.hpp"
#include "runtime.hpp"
#include "sandbox_record.hpp"

#include "agent/lifetime_client.hpp"

#include <hutch/handle.hpp>

#include <memory>
#include <functional>
#include <mutex>
#include <optional>

namespace hutch::subcontainer {

class SandboxFs;

class SubcontainerHandle final : public Handle, public std::enable_shared_from_this<SubcontainerHandle> {
 public:
  SubcontainerHandle(std::shared_ptr<Runtime> runtime, SandboxRecord record);
  ~SubcontainerHandle() override;

  std::string id() const override { return record_.id; }
  SandboxSpec spec() const override;
  SandboxInfo info() override;
  ExecResult exec(const ExecRequest& request) override;
  std::unique_ptr<Process> spawn(const ExecRequest& request) override;
  MainCommandInfo launch(const ExecRequest& request) override;
  void logs(const std::function<bool(std::string_view)>& sink, bool follow) override;
  void set_env(const Env& set, const std::vector<std::string>& unset) override;
  Fs& fs() override;
  SnapshotInfo snapshot(const std::string& label) override;
  void pause() override;
  void unpause() override;
  void stop() override;
  void start() override;
  void set_lifetime(const LifetimeUpdate& update) override;
  void set_egress(const std::vector<EgressRule>& rules) override;
  Stats stats() override;
  std::vector<PortBinding> ports() override;
  int connect_port(std::uint16_t port) override;
  void destroy() override;
  std::shared_ptr<ForkFactory> fork_factory() override;

  const SandboxRecord& record() const { return record_; }
  // The helper that started this sandbox, reaped with the handle (create does not wait for it).
  void adopt_helper(ExitingChild helper) { helper_ = std::move(helper); }
  SandboxPaths paths() const;
  // Runs `body` (a stop, start or destroy) with the fs helper ended and none started meanwhile:
  // the helper lives in the sandbox's namespaces and would keep them busy.
  void with_fs_helper_stopped(const std::function<void()>& body);
  // Runs `body` with every process of the sandbox frozen (when the host has a freezer), so
  // its upper layer can be copied consistently.
  void with_frozen(const std::function<void()>& body);

 protected:
  std::string backend_name() const override { return runtime_->config.name; }

 private:
  void require_running();
  // The record as saved now: another process may have stopped or started the sandbox.
  void reload_record();
  // Held while this handle reads, changes and saves the record (stop, start, set_lifetime,
  // set_egress):
  // another process (a second `hutch` command, the service) changing it meanwhile would have
  // its change overwritten with what this one read before.
  FileLock lock_record() const;
  // require_running, not paused, and the record's mtime touched (last activity).
  void prepare_command();
  std::optional<SandboxCgroup> cgroup() const;

  std::shared_ptr<Runtime> runtime_;
  SandboxRecord record_;
  std::mutex mutex_;
  bool destroyed_ = false;
  // Made by the first fs() and kept as long as the handle: callers hold the Fs& that fs()
  // gave them, also across a stop or destroy on another thread (their calls then fail with
  // Errc::state once the sandbox is gone), so it is never freed early; only its helper stops.
  std::unique_ptr<SandboxFs> fs_;
  ExitingChild helper_;
  agent::ActivityTouch touch_;
};

// The hutch.* labels plus the user's.
Labels sandbox_labels(const SandboxRecord& record);
SandboxInfo sandbox_info(const Runtime& runtime, const SandboxRecord& record);

}  // namespace hutch::subcontainer
