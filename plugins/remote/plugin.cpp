// The hutch-remote.so entry point; the backend lives in backends/remote.
#include "remote_backend.hpp"

#include <hutch/plugin.hpp>

namespace {

std::shared_ptr<hutch::SandboxBackend> make_remote_backend(const hutch::PluginContext& context) {
  return hutch::remote::make_remote_backend(context);
}

}  // namespace

HUTCH_PLUGIN(make_remote_backend)
