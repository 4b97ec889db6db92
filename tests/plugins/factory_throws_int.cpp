// Broken on purpose: the factory throws something that is not even a std::exception.
#include <hutch/plugin.hpp>

namespace {
std::shared_ptr<hutch::SandboxBackend> make_backend(const hutch::PluginContext&) { throw 42; }
}  // namespace

HUTCH_PLUGIN(make_backend)
