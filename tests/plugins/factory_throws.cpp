// Broken on purpose: the factory throws a std::exception that is not an sbx::Error.
#include <sbx/plugin.hpp>

#include <stdexcept>

namespace {
std::shared_ptr<sbx::SandboxBackend> make_backend(const sbx::PluginContext&) {
  throw std::runtime_error("boom");
}
}  // namespace

SBX_PLUGIN(make_backend)
