// The sbx-subcontainer.so entry point; the backend lives in backends/subcontainer.
#include "backend.hpp"

#include <sbx/plugin.hpp>

namespace {

std::shared_ptr<sbx::SandboxBackend> make_subcontainer_backend(const sbx::PluginContext& context) {
  return sbx::subcontainer::make_subcontainer_backend(context);
}

}  // namespace

SBX_PLUGIN(make_subcontainer_backend)
