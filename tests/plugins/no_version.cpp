// Broken on purpose: exports the factory but not sbx_plugin_api_version.
#include <sbx/plugin.hpp>

#include <cstdlib>

namespace {
// The loader must refuse this plugin before calling anything in it.
std::shared_ptr<sbx::SandboxBackend> must_not_be_called(const sbx::PluginContext&) { std::abort(); }
}  // namespace

BOOST_DLL_ALIAS(must_not_be_called, sbx_plugin_create)
