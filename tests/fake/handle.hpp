// FakeHandle: one fake sandbox. Every call re-reads the sandbox's record, so a handle sees
// what other handles and other processes did (destroy, pause).
#pragma once

#include "store.hpp"
#include "tree_fs.hpp"

#include <hutch/handle.hpp>

#include <memory>

namespace hutch::fake {

class FakeBackend;

class FakeHandle final : public Handle {
 public:
  FakeHandle(std::shared_ptr<FakeBackend> backend, SandboxRecord record);

  std::string id() const override { return id_; }
  SandboxSpec spec() const override;
  SandboxInfo info() override;
  ExecResult exec(const ExecRequest& request) override;
  std::unique_ptr<Process> spawn(const ExecRequest& request) override;
  // Kept in <sandbox dir>/env.json (<hutch/env_changes.hpp>), read by every command.
  void set_env(const Env& set, const std::vector<std::string>& unset) override;
  Fs& fs() override;
  SnapshotInfo snapshot(const std::string& label) override;
  void pause() override;
  void unpause() override;
  void stop() override;
  void start() override;
  void set_lifetime(const LifetimeUpdate& update) override;
  // Checks and keeps the rules (nothing to enforce: a fake sandbox sends no packet).
  void set_egress(const std::vector<EgressRule>& rules) override;
  Stats stats() override;
  void destroy() override;
  std::shared_ptr<ForkFactory> fork_factory() override;

 protected:
  std::string backend_name() const override;

 private:
  // The record on disk; Errc::state once the sandbox is gone.
  SandboxRecord current() const;
  std::filesystem::path env_file() const;
  // current(), and Errc::state while it is stopped.
  SandboxRecord running() const;
  std::unique_ptr<Process> start(const ExecRequest& request, bool keep_stdin_open);
  void set_paused(bool paused);

  std::shared_ptr<FakeBackend> backend_;
  std::string id_;
  SandboxSpec spec_;
  TreeFs fs_;
};

}  // namespace hutch::fake
