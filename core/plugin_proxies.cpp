#include "plugin_proxies.hpp"

#include <hutch/error.hpp>
#include <hutch/spec.hpp>

#include <utility>

namespace hutch::detail {

namespace {

// A null handle from a plugin is a plugin bug; refuse it here rather than let the caller
// dereference it.
std::shared_ptr<Handle> pin_handle(const PluginLibrary& library, std::shared_ptr<Handle> handle,
                                   const std::string& backend_name, const char* verb) {
  if (!handle)
    throw Error(Errc::plugin, "backend '" + backend_name + "' returned no handle from " + verb);
  return std::make_shared<PinnedHandle>(library, std::move(handle), backend_name);
}

}  // namespace

// --- PinnedProcess ---------------------------------------------------------------------------

PinnedProcess::PinnedProcess(PluginLibrary library, std::unique_ptr<Process> inner)
    : library_(std::move(library)), inner_(std::move(inner)) {}
PinnedProcess::~PinnedProcess() = default;

std::optional<OutputChunk> PinnedProcess::read_output() { return inner_->read_output(); }
void PinnedProcess::write_stdin(std::string_view data) { inner_->write_stdin(data); }
void PinnedProcess::close_stdin() { inner_->close_stdin(); }
ExecResult PinnedProcess::wait() { return inner_->wait(); }
void PinnedProcess::kill(int signal) { inner_->kill(signal); }
void PinnedProcess::resize(std::uint16_t cols, std::uint16_t rows) { inner_->resize(cols, rows); }

// --- PinnedHandle ----------------------------------------------------------------------------

PinnedHandle::PinnedHandle(PluginLibrary library, std::shared_ptr<Handle> inner,
                           std::string backend_name)
    : library_(std::move(library)), inner_(std::move(inner)), backend_name_(std::move(backend_name)) {}
PinnedHandle::~PinnedHandle() = default;

std::string PinnedHandle::id() const { return inner_->id(); }
SandboxSpec PinnedHandle::spec() const { return inner_->spec(); }
SandboxInfo PinnedHandle::info() { return inner_->info(); }
ExecResult PinnedHandle::exec(const ExecRequest& request) { return inner_->exec(request); }

std::unique_ptr<Process> PinnedHandle::spawn(const ExecRequest& request) {
  auto process = inner_->spawn(request);
  if (!process)
    throw Error(Errc::plugin, "backend '" + backend_name_ + "' returned no process from spawn in sandbox " +
                                  inner_->id());
  return std::make_unique<PinnedProcess>(library_, std::move(process));
}

MainCommandInfo PinnedHandle::launch(const ExecRequest& request) { return inner_->launch(request); }
void PinnedHandle::logs(const std::function<bool(std::string_view)>& sink, bool follow) { inner_->logs(sink, follow); }

void PinnedHandle::set_env(const Env& set, const std::vector<std::string>& unset) { inner_->set_env(set, unset); }
Fs& PinnedHandle::fs() { return inner_->fs(); }

std::shared_ptr<Handle> PinnedHandle::fork() {
  return pin_handle(library_, inner_->fork(), backend_name_, "fork");
}

SnapshotInfo PinnedHandle::snapshot(const std::string& label) { return inner_->snapshot(label); }
void PinnedHandle::pause() { inner_->pause(); }
void PinnedHandle::unpause() { inner_->unpause(); }
void PinnedHandle::stop() { inner_->stop(); }
void PinnedHandle::start() { inner_->start(); }
void PinnedHandle::set_lifetime(const LifetimeUpdate& update) { inner_->set_lifetime(update); }
void PinnedHandle::set_egress(const std::vector<EgressRule>& rules) { inner_->set_egress(rules); }
Stats PinnedHandle::stats() { return inner_->stats(); }
std::vector<PortBinding> PinnedHandle::ports() { return inner_->ports(); }
int PinnedHandle::connect_port(std::uint16_t port) { return inner_->connect_port(port); }
void PinnedHandle::destroy() { inner_->destroy(); }

std::shared_ptr<ForkFactory> PinnedHandle::fork_factory() {
  auto factory = inner_->fork_factory();
  if (!factory) return nullptr;
  return std::make_shared<PinnedForkFactory>(library_, std::move(factory), backend_name_);
}

std::string PinnedHandle::backend_name() const { return backend_name_; }

// --- PinnedForkFactory -----------------------------------------------------------------------

PinnedForkFactory::PinnedForkFactory(PluginLibrary library, std::shared_ptr<ForkFactory> inner,
                                     std::string backend_name)
    : library_(std::move(library)), inner_(std::move(inner)), backend_name_(std::move(backend_name)) {}
PinnedForkFactory::~PinnedForkFactory() = default;

std::shared_ptr<Handle> PinnedForkFactory::fork(Handle& source) {
  auto* pinned = dynamic_cast<PinnedHandle*>(&source);
  Handle& plugin_source = pinned != nullptr ? pinned->inner() : source;
  return pin_handle(library_, inner_->fork(plugin_source), backend_name_, "fork");
}

// --- PinnedBackend ---------------------------------------------------------------------------

PinnedBackend::PinnedBackend(PluginLibrary library, std::shared_ptr<SandboxBackend> inner)
    : library_(std::move(library)), inner_(std::move(inner)) {}
PinnedBackend::~PinnedBackend() = default;

std::string PinnedBackend::name() const { return inner_->name(); }
Capabilities PinnedBackend::capabilities() const { return inner_->capabilities(); }

// Every sandbox a host makes through a loaded plugin gets the safe default limits here, so no
// host and no backend can forget them.
std::shared_ptr<Handle> PinnedBackend::create(const SandboxSpec& spec) {
  return pin_handle(library_, inner_->create(apply_safe_defaults(spec)), inner_->name(), "create");
}

std::shared_ptr<Handle> PinnedBackend::resume(const std::string& id) {
  return pin_handle(library_, inner_->resume(id), inner_->name(), "resume");
}

std::vector<SandboxInfo> PinnedBackend::list(const Filter& filter) { return inner_->list(filter); }
void PinnedBackend::destroy(const std::string& id) { inner_->destroy(id); }
std::vector<std::string> PinnedBackend::prune(const Filter& filter) { return inner_->prune(filter); }

std::shared_ptr<Handle> PinnedBackend::restore(const std::string& snapshot_id,
                                               const SandboxSpec& overrides) {
  return pin_handle(library_, inner_->restore(snapshot_id, apply_safe_defaults(overrides)), inner_->name(), "restore");
}

std::vector<SnapshotInfo> PinnedBackend::snapshots() { return inner_->snapshots(); }
std::vector<std::string> PinnedBackend::warnings() { return inner_->warnings(); }
std::vector<VolumeInfo> PinnedBackend::volumes() { return inner_->volumes(); }
void PinnedBackend::remove_volume(const std::string& name) { inner_->remove_volume(name); }
std::string PinnedBackend::pull_image(const std::string& image, const std::function<void(const PullProgress&)>& progress) {
  return inner_->pull_image(image, progress);
}
std::vector<ImageInfo> PinnedBackend::images() { return inner_->images(); }
ImageInfo PinnedBackend::inspect_image(const std::string& image) { return inner_->inspect_image(image); }
void PinnedBackend::remove_image(const std::string& image) { inner_->remove_image(image); }
std::vector<std::string> PinnedBackend::prune_images() { return inner_->prune_images(); }
std::string PinnedBackend::import_image(const std::string& path, const std::string& name) {
  return inner_->import_image(path, name);
}
void PinnedBackend::delete_snapshot(const std::string& snapshot_id) {
  inner_->delete_snapshot(snapshot_id);
}

}  // namespace hutch::detail
