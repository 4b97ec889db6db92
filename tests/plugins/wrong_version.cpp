// Broken on purpose: built for a plugin API version sbx does not have.
#include <sbx/plugin.hpp>

#include <cstdlib>

namespace {
// The loader must refuse this plugin before calling anything in it.
std::shared_ptr<sbx::SandboxBackend> must_not_be_called(const sbx::PluginContext&) { std::abort(); }
}  // namespace

extern "C" BOOST_SYMBOL_EXPORT const std::uint32_t sbx_plugin_api_version = 999;
BOOST_DLL_ALIAS(must_not_be_called, sbx_plugin_create)
