// The hutch-subcontainer.so entry point; the backend lives in backends/subcontainer.
#include "backend.hpp"

#include <hutch/plugin.hpp>

namespace {

std::shared_ptr<hutch::SandboxBackend> make_subcontainer_backend(const hutch::PluginContext& context) {
  return hutch::subcontainer::make_subcontainer_backend(context);
}

}  // namespace

HUTCH_PLUGIN(make_subcontainer_backend)
