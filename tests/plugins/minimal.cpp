// A small working plugin for the loader's lifetime tests: sandboxes with an in-memory Fs (the
// template plugin's MemoryFs) whose exec and spawn understand only `echo`, and fork through the
// core's generic copy-through-Fs factory. Enough to show that a handle, its Fs, a running
// Process and a fork keep working after the backend object is gone.
#include "memory_fs.hpp"

#include <hutch/error.hpp>
#include <hutch/fork.hpp>
#include <hutch/plugin.hpp>
#include <hutch/spec.hpp>

#include <atomic>
#include <memory>
#include <string>

namespace {

hutch::ExecResult run_echo(const hutch::ExecRequest& request) {
  hutch::ExecResult result;
  if (request.argv.empty() || request.argv[0] != "echo") {
    result.exit_code = 127;
    result.stderr_data = "minimal: only echo is available\n";
    return result;
  }
  for (std::size_t i = 1; i < request.argv.size(); ++i)
    result.stdout_data += (i > 1 ? " " : "") + request.argv[i];
  result.stdout_data += "\n";
  result.exit_code = 0;
  return result;
}

class EchoProcess final : public hutch::Process {
 public:
  explicit EchoProcess(hutch::ExecResult result) : result_(std::move(result)) {}

  std::optional<hutch::OutputChunk> read_output() override {
    if (!result_.stdout_data.empty())
      return hutch::OutputChunk{hutch::StreamId::stdout_stream, std::exchange(result_.stdout_data, {})};
    if (!result_.stderr_data.empty())
      return hutch::OutputChunk{hutch::StreamId::stderr_stream, std::exchange(result_.stderr_data, {})};
    return std::nullopt;
  }
  void write_stdin(std::string_view) override {
    throw hutch::Error(hutch::Errc::state, "minimal: echo was started without stdin");
  }
  void close_stdin() override {}
  hutch::ExecResult wait() override { return result_; }
  void kill(int) override {}  // echo has already ended

 private:
  hutch::ExecResult result_;
};

class MinimalBackend;

class MinimalHandle final : public hutch::Handle {
 public:
  MinimalHandle(std::shared_ptr<MinimalBackend> backend, std::string id, hutch::SandboxSpec spec)
      : backend_(std::move(backend)), id_(id), spec_(std::move(spec)), fs_(std::move(id)) {}

  std::string id() const override { return id_; }
  hutch::SandboxSpec spec() const override { return spec_; }
  hutch::SandboxInfo info() override {
    check_alive();
    hutch::SandboxInfo info;
    info.id = id_;
    info.backend = "minimal";
    info.state = hutch::SandboxState::running;
    info.spec = spec_;
    return info;
  }
  hutch::ExecResult exec(const hutch::ExecRequest& request) override {
    check_alive();
    return run_echo(request);
  }
  std::unique_ptr<hutch::Process> spawn(const hutch::ExecRequest& request) override {
    check_alive();
    return std::make_unique<EchoProcess>(run_echo(request));
  }
  hutch::Fs& fs() override { return fs_; }
  void destroy() override {
    destroyed_ = true;
    fs_.close();
  }
  std::shared_ptr<hutch::ForkFactory> fork_factory() override;

 protected:
  std::string backend_name() const override { return "minimal"; }

 private:
  void check_alive() const {
    if (destroyed_) throw hutch::Error(hutch::Errc::state, "sandbox " + id_ + " is destroyed");
  }

  std::shared_ptr<MinimalBackend> backend_;  // the fork factory creates through it
  std::string id_;
  hutch::SandboxSpec spec_;
  hutch_template::MemoryFs fs_;
  std::atomic<bool> destroyed_{false};
};

class MinimalBackend final : public hutch::SandboxBackend,
                             public std::enable_shared_from_this<MinimalBackend> {
 public:
  std::string name() const override { return "minimal"; }
  hutch::Capabilities capabilities() const override {
    hutch::Capabilities capabilities;
    capabilities.fork = true;
    return capabilities;
  }
  std::shared_ptr<hutch::Handle> create(const hutch::SandboxSpec& spec) override {
    hutch::validate(spec);
    return std::make_shared<MinimalHandle>(shared_from_this(),
                                           "minimal-" + std::to_string(++created_), spec);
  }
  // Shares ownership of the backend, which the generic factory needs to outlive it.
  std::shared_ptr<hutch::ForkFactory> fork_factory() {
    return std::shared_ptr<hutch::ForkFactory>(shared_from_this(), fork_factory_.get());
  }
  std::shared_ptr<hutch::Handle> resume(const std::string& id) override {
    throw hutch::Error(hutch::Errc::not_found, "backend 'minimal' cannot resume sandbox " + id);
  }
  std::vector<hutch::SandboxInfo> list(const hutch::Filter&) override { return {}; }
  void destroy(const std::string&) override {}
  std::vector<std::string> prune(const hutch::Filter&) override { return {}; }

 private:
  std::atomic<int> created_{0};
  std::shared_ptr<hutch::ForkFactory> fork_factory_ = hutch::make_fs_copy_fork_factory(*this);
};

std::shared_ptr<hutch::ForkFactory> MinimalHandle::fork_factory() { return backend_->fork_factory(); }

std::shared_ptr<hutch::SandboxBackend> make_backend(const hutch::PluginContext&) {
  return std::make_shared<MinimalBackend>();
}

}  // namespace

HUTCH_PLUGIN(make_backend)
