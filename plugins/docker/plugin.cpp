// The hutch-docker.so entry point; the backend lives in backends/docker.
#include "docker_backend.hpp"

#include <hutch/plugin.hpp>

namespace {

std::shared_ptr<hutch::SandboxBackend> make_docker_backend(const hutch::PluginContext& context) {
  return hutch::docker::make_docker_backend(context);
}

}  // namespace

HUTCH_PLUGIN(make_docker_backend)
