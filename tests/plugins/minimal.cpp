// A small working plugin for the loader's lifetime tests: sandboxes with an in-memory Fs (the
// template plugin's MemoryFs) whose exec and spawn understand only `echo`, and fork through the
// core's generic copy-through-Fs factory. Enough to show that a handle, its Fs, a running
// Process and a fork keep working after the backend object is gone.
#include "memory_fs.hpp"

#include <sbx/error.hpp>
#include <sbx/fork.hpp>
#include <sbx/plugin.hpp>
#include <sbx/spec.hpp>

#include <atomic>
#include <memory>
#include <string>

namespace {

sbx::ExecResult run_echo(const sbx::ExecRequest& request) {
  sbx::ExecResult result;
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

class EchoProcess final : public sbx::Process {
 public:
  explicit EchoProcess(sbx::ExecResult result) : result_(std::move(result)) {}

  std::optional<sbx::OutputChunk> read_output() override {
    if (!result_.stdout_data.empty())
      return sbx::OutputChunk{sbx::StreamId::stdout_stream, std::exchange(result_.stdout_data, {})};
    if (!result_.stderr_data.empty())
      return sbx::OutputChunk{sbx::StreamId::stderr_stream, std::exchange(result_.stderr_data, {})};
    return std::nullopt;
  }
  void write_stdin(std::string_view) override {
    throw sbx::Error(sbx::Errc::state, "minimal: echo was started without stdin");
  }
  void close_stdin() override {}
  sbx::ExecResult wait() override { return result_; }
  void kill(int) override {}  // echo has already ended

 private:
  sbx::ExecResult result_;
};

class MinimalBackend;

class MinimalHandle final : public sbx::Handle {
 public:
  MinimalHandle(std::shared_ptr<MinimalBackend> backend, std::string id, sbx::SandboxSpec spec)
      : backend_(std::move(backend)), id_(id), spec_(std::move(spec)), fs_(std::move(id)) {}

  std::string id() const override { return id_; }
  sbx::SandboxSpec spec() const override { return spec_; }
  sbx::SandboxInfo info() override {
    check_alive();
    sbx::SandboxInfo info;
    info.id = id_;
    info.backend = "minimal";
    info.state = sbx::SandboxState::running;
    info.spec = spec_;
    return info;
  }
  sbx::ExecResult exec(const sbx::ExecRequest& request) override {
    check_alive();
    return run_echo(request);
  }
  std::unique_ptr<sbx::Process> spawn(const sbx::ExecRequest& request) override {
    check_alive();
    return std::make_unique<EchoProcess>(run_echo(request));
  }
  sbx::Fs& fs() override { return fs_; }
  void destroy() override {
    destroyed_ = true;
    fs_.close();
  }
  std::shared_ptr<sbx::ForkFactory> fork_factory() override;

 protected:
  std::string backend_name() const override { return "minimal"; }

 private:
  void check_alive() const {
    if (destroyed_) throw sbx::Error(sbx::Errc::state, "sandbox " + id_ + " is destroyed");
  }

  std::shared_ptr<MinimalBackend> backend_;  // the fork factory creates through it
  std::string id_;
  sbx::SandboxSpec spec_;
  sbx_template::MemoryFs fs_;
  std::atomic<bool> destroyed_{false};
};

class MinimalBackend final : public sbx::SandboxBackend,
                             public std::enable_shared_from_this<MinimalBackend> {
 public:
  std::string name() const override { return "minimal"; }
  sbx::Capabilities capabilities() const override {
    sbx::Capabilities capabilities;
    capabilities.fork = true;
    return capabilities;
  }
  std::shared_ptr<sbx::Handle> create(const sbx::SandboxSpec& spec) override {
    sbx::validate(spec);
    return std::make_shared<MinimalHandle>(shared_from_this(),
                                           "minimal-" + std::to_string(++created_), spec);
  }
  // Shares ownership of the backend, which the generic factory needs to outlive it.
  std::shared_ptr<sbx::ForkFactory> fork_factory() {
    return std::shared_ptr<sbx::ForkFactory>(shared_from_this(), fork_factory_.get());
  }
  std::shared_ptr<sbx::Handle> resume(const std::string& id) override {
    throw sbx::Error(sbx::Errc::not_found, "backend 'minimal' cannot resume sandbox " + id);
  }
  std::vector<sbx::SandboxInfo> list(const sbx::Filter&) override { return {}; }
  void destroy(const std::string&) override {}
  std::vector<std::string> prune(const sbx::Filter&) override { return {}; }

 private:
  std::atomic<int> created_{0};
  std::shared_ptr<sbx::ForkFactory> fork_factory_ = sbx::make_fs_copy_fork_factory(*this);
};

std::shared_ptr<sbx::ForkFactory> MinimalHandle::fork_factory() { return backend_->fork_factory(); }

std::shared_ptr<sbx::SandboxBackend> make_backend(const sbx::PluginContext&) {
  return std::make_shared<MinimalBackend>();
}

}  // namespace

SBX_PLUGIN(make_backend)
