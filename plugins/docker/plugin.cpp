// The sbx-docker.so entry point; the backend lives in backends/docker.
#include "docker_backend.hpp"

#include <sbx/plugin.hpp>

namespace {

std::shared_ptr<sbx::SandboxBackend> make_docker_backend(const sbx::PluginContext& context) {
  return sbx::docker::make_docker_backend(context);
}

}  // namespace

SBX_PLUGIN(make_docker_backend)
