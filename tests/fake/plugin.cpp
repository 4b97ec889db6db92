// The loadable entry point of the fake backend (sbx-fake.so).
#include "fake_backend.hpp"

#include <sbx/plugin.hpp>

namespace {

std::shared_ptr<sbx::SandboxBackend> make_backend(const sbx::PluginContext& context) {
  return sbx::fake::make_fake_backend_from_context(context);
}

}  // namespace

SBX_PLUGIN(make_backend)
