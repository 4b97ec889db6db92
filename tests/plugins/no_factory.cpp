// Broken on purpose: has the right API version but no sbx_plugin_create.
#include <sbx/plugin.hpp>

extern "C" BOOST_SYMBOL_EXPORT const std::uint32_t sbx_plugin_api_version = ::sbx::kPluginApiVersion;
