// Broken on purpose: exports the factory but not hutch_plugin_api_version.
#include <hutch/plugin.hpp>

#include <cstdlib>

namespace {
// The loader must refuse this plugin before calling anything in it.
std::shared_ptr<hutch::SandboxBackend> must_not_be_called(const hutch::PluginContext&) { std::abort(); }
}  // namespace

BOOST_DLL_ALIAS(must_not_be_called, hutch_plugin_create)
