// Default implementations for the optional verbs of Handle and SandboxBackend: each one
// refuses by name, so a backend implements only what its Capabilities promise.
#include <hutch/backend.hpp>
#include <hutch/error.hpp>
#include <hutch/fork.hpp>
#include <hutch/handle.hpp>

namespace hutch {

std::shared_ptr<ForkFactory> Handle::fork_factory() { return nullptr; }

std::shared_ptr<Handle> Handle::fork() {
  auto factory = fork_factory();
  if (!factory) throw_unsupported(backend_name(), "fork");
  return factory->fork(*this);
}

SnapshotInfo Handle::snapshot(const std::string&) { throw_unsupported(backend_name(), "snapshot"); }
void Handle::pause() { throw_unsupported(backend_name(), "pause"); }
void Handle::unpause() { throw_unsupported(backend_name(), "unpause"); }
void Handle::stop() { throw_unsupported(backend_name(), "stop"); }
void Handle::start() { throw_unsupported(backend_name(), "start"); }
void Handle::set_lifetime(const LifetimeUpdate&) { throw_unsupported(backend_name(), "set_lifetime"); }
void Handle::set_egress(const std::vector<EgressRule>&) { throw_unsupported(backend_name(), "set_egress"); }
Stats Handle::stats() { throw_unsupported(backend_name(), "stats"); }
std::vector<PortBinding> Handle::ports() { throw_unsupported(backend_name(), "ports"); }
int Handle::connect_port(std::uint16_t) { throw_unsupported(backend_name(), "connect_port"); }
MainCommandInfo Handle::launch(const ExecRequest&) { throw_unsupported(backend_name(), "launch"); }
void Handle::logs(const std::function<bool(std::string_view)>&, bool) { throw_unsupported(backend_name(), "logs"); }
void Handle::set_env(const Env&, const std::vector<std::string>&) { throw_unsupported(backend_name(), "set_env"); }

std::shared_ptr<Handle> SandboxBackend::restore(const std::string&, const SandboxSpec&) {
  throw_unsupported(name(), "restore");
}
std::vector<SnapshotInfo> SandboxBackend::snapshots() { return {}; }
std::vector<std::string> SandboxBackend::warnings() { return {}; }
std::vector<VolumeInfo> SandboxBackend::volumes() { throw_unsupported(name(), "volumes"); }
void SandboxBackend::remove_volume(const std::string&) { throw_unsupported(name(), "remove_volume"); }
std::string SandboxBackend::pull_image(const std::string& image, const std::function<void(const PullProgress&)>&) {
  throw Error(Errc::unsupported, "backend '" + name() + "' cannot pull images (pull_image of '" + image + "')");
}
std::vector<ImageInfo> SandboxBackend::images() { throw_unsupported(name(), "images"); }
ImageInfo SandboxBackend::inspect_image(const std::string&) { throw_unsupported(name(), "inspect_image"); }
void SandboxBackend::remove_image(const std::string&) { throw_unsupported(name(), "remove_image"); }
std::vector<std::string> SandboxBackend::prune_images() { throw_unsupported(name(), "prune_images"); }
std::string SandboxBackend::import_image(const std::string&, const std::string&) {
  throw_unsupported(name(), "import_image");
}
void SandboxBackend::delete_snapshot(const std::string&) {
  throw_unsupported(name(), "delete_snapshot");
}

}  // namespace hutch
