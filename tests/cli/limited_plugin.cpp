// hutch-cli-limited: the fake backend with its optional verbs taken away (no fork, snapshot,
// pause, stats, stdin; and not persistent with `persistent = false` in its table), so the CLI
// tests can check how an unsupported verb is reported. It loads the real fake plugin and
// forwards to it; the verbs it lacks fall to the SDK's defaults, which refuse by name.
#include <hutch/loader.hpp>
#include <hutch/plugin.hpp>

#include <memory>

namespace {

class LimitedHandle final : public hutch::Handle {
 public:
  LimitedHandle(std::shared_ptr<hutch::Handle> inner, std::string backend)
      : inner_(std::move(inner)), backend_(std::move(backend)) {}

  std::string id() const override { return inner_->id(); }
  hutch::SandboxSpec spec() const override { return inner_->spec(); }
  hutch::SandboxInfo info() override {
    hutch::SandboxInfo info = inner_->info();
    info.backend = backend_;
    return info;
  }
  hutch::ExecResult exec(const hutch::ExecRequest& request) override { return inner_->exec(request); }
  std::unique_ptr<hutch::Process> spawn(const hutch::ExecRequest& request) override {
    return inner_->spawn(request);
  }
  hutch::Fs& fs() override { return inner_->fs(); }
  void destroy() override { inner_->destroy(); }

 protected:
  std::string backend_name() const override { return backend_; }

 private:
  std::shared_ptr<hutch::Handle> inner_;
  std::string backend_;
};

class LimitedBackend final : public hutch::SandboxBackend {
 public:
  LimitedBackend(std::shared_ptr<hutch::SandboxBackend> inner, std::string name, bool persistent)
      : inner_(std::move(inner)), name_(std::move(name)), persistent_(persistent) {}

  std::string name() const override { return name_; }
  hutch::Capabilities capabilities() const override {
    hutch::Capabilities capabilities = inner_->capabilities();
    capabilities.fork = capabilities.snapshot = capabilities.pause = false;
    capabilities.stats = capabilities.stdin = capabilities.set_egress = false;
    capabilities.persistent = capabilities.persistent && persistent_;
    return capabilities;
  }
  std::shared_ptr<hutch::Handle> create(const hutch::SandboxSpec& spec) override {
    return wrap(inner_->create(spec));
  }
  std::shared_ptr<hutch::Handle> resume(const std::string& id) override { return wrap(inner_->resume(id)); }
  std::vector<hutch::SandboxInfo> list(const hutch::Filter& filter) override { return inner_->list(filter); }
  void destroy(const std::string& id) override { inner_->destroy(id); }
  std::vector<std::string> prune(const hutch::Filter& filter) override { return inner_->prune(filter); }

 private:
  std::shared_ptr<hutch::Handle> wrap(std::shared_ptr<hutch::Handle> handle) {
    return std::make_shared<LimitedHandle>(std::move(handle), name_);
  }

  std::shared_ptr<hutch::SandboxBackend> inner_;
  std::string name_;
  bool persistent_;
};

std::shared_ptr<hutch::SandboxBackend> make_limited_backend(const hutch::PluginContext& context) {
  const bool persistent = context.config.get_bool("persistent").value_or(true);
  context.config.reject_unknown_keys();
  hutch::PluginContext fake_context = context;
  fake_context.name = "fake";
  fake_context.config = hutch::ConfigTable();
  auto fake = hutch::load_backend(HUTCH_FAKE_PLUGIN, hutch::PluginSearch{}, fake_context);
  return std::make_shared<LimitedBackend>(std::move(fake), context.name, persistent);
}

}  // namespace

HUTCH_PLUGIN(make_limited_backend)
