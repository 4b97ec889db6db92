// Broken on purpose: the factory returns no backend.
#include <hutch/plugin.hpp>

namespace {
std::shared_ptr<hutch::SandboxBackend> make_backend(const hutch::PluginContext&) { return nullptr; }
}  // namespace

HUTCH_PLUGIN(make_backend)
