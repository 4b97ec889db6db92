// The plugin ABI. A backend plugin is a shared module that exports two symbols through
// Boost.DLL:
//   sbx_plugin_api_version  — a std::uint32_t equal to sbx::kPluginApiVersion it was built with
//   sbx_plugin_create       — a PluginFactory
// A plugin source file declares both with one line:
//   SBX_PLUGIN(make_my_backend)
// where make_my_backend has the signature of PluginFactory.
//
// The loader (<sbx/loader.hpp>) reads the version before it calls anything else and refuses a
// mismatch. Bump kPluginApiVersion whenever any SDK type or interface changes layout.
#pragma once

#include <sbx/backend.hpp>
#include <sbx/config.hpp>
#include <sbx/export.hpp>

#include <boost/dll/alias.hpp>

#include <cstdint>
#include <memory>
#include <string>

namespace spdlog {
class logger;
}

namespace sbx {

inline constexpr std::uint32_t kPluginApiVersion = 2;  // 2: Handle::launch/logs, SandboxInfo::main_command

struct PluginContext {
  std::string name;                         // the backend name it is loaded as
  ConfigTable config;                       // its [backends.<name>] table (maybe empty)
  std::shared_ptr<spdlog::logger> logger;   // the host's logger; never null
  std::string state_dir;                    // where sbx keeps state (root: /var/lib/sbx)
};

// Builds the backend. May throw sbx::Error (e.g. Errc::config via context.config.fail);
// any other exception is reported by the loader as "factory threw: <what()>".
using PluginFactory = std::shared_ptr<SandboxBackend>(const PluginContext& context);

}  // namespace sbx

#define SBX_PLUGIN(factory_function)                                                   \
  extern "C" BOOST_SYMBOL_EXPORT const std::uint32_t sbx_plugin_api_version =          \
      ::sbx::kPluginApiVersion;                                                        \
  BOOST_DLL_ALIAS(factory_function, sbx_plugin_create)
