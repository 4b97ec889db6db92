// Broken on purpose: built for a plugin API version hutch does not have.
#include <hutch/plugin.hpp>

#include <cstdlib>

namespace {
// The loader must refuse this plugin before calling anything in it.
std::shared_ptr<hutch::SandboxBackend> must_not_be_called(const hutch::PluginContext&) { std::abort(); }
}  // namespace

extern "C" BOOST_SYMBOL_EXPORT const std::uint32_t hutch_plugin_api_version = 999;
BOOST_DLL_ALIAS(must_not_be_called, hutch_plugin_create)
