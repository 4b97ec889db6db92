// The loadable entry point of the fake backend (hutch-fake.so).
#include "fake_backend.hpp"

#include <hutch/plugin.hpp>

namespace {

std::shared_ptr<hutch::SandboxBackend> make_backend(const hutch::PluginContext& context) {
  return hutch::fake::make_fake_backend_from_context(context);
}

}  // namespace

HUTCH_PLUGIN(make_backend)
