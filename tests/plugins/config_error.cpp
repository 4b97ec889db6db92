// Refuses its configuration the way a real backend does: an Errc::config naming the key.
#include <hutch/error.hpp>
#include <hutch/plugin.hpp>

namespace {
std::shared_ptr<hutch::SandboxBackend> make_backend(const hutch::PluginContext& context) {
  throw hutch::Error(hutch::Errc::config,
                   "backends." + context.name + ".socket: expected a path, got nothing");
}
}  // namespace

HUTCH_PLUGIN(make_backend)
