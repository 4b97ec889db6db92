// Broken on purpose: has the right API version but no hutch_plugin_create.
#include <hutch/plugin.hpp>

extern "C" BOOST_SYMBOL_EXPORT const std::uint32_t hutch_plugin_api_version = ::hutch::kPluginApiVersion;
