// Broken on purpose: the factory throws a std::exception that is not a hutch::Error.
#include <hutch/plugin.hpp>

#include <stdexcept>

namespace {
std::shared_ptr<hutch::SandboxBackend> make_backend(const hutch::PluginContext&) {
  throw std::runtime_error("boom");
}
}  // namespace

HUTCH_PLUGIN(make_backend)
