// The plugin ABI. A backend plugin is a shared module that exports two symbols through
// Boost.DLL:
//   hutch_plugin_api_version  — a std::uint32_t equal to hutch::kPluginApiVersion it was built with
//   hutch_plugin_create       — a PluginFactory
// A plugin source file declares both with one line:
//   HUTCH_PLUGIN(make_my_backend)
// where make_my_backend has the signature of PluginFactory.
//
// The loader (<hutch/loader.hpp>) reads the version before it calls anything else and refuses a
// mismatch. Bump kPluginApiVersion whenever any SDK type or interface changes layout.
#pragma once

#include <hutch/backend.hpp>
#include <hutch/config.hpp>
#include <hutch/export.hpp>

#include <boost/dll/alias.hpp>

#include <cstdint>
#include <memory>
#include <string>

namespace spdlog {
class logger;
}

namespace hutch {

// 2: Handle::launch/logs, SandboxInfo::main_command; 3: the project's new name (module, symbol
// and namespace names all changed, so an older plugin cannot be loaded); 4 (issue 12):
// ExecRequest::start_timeout, SandboxBackend::warnings, Fs::read_tree; 5 (issue 13): stop/start
// and lifetimes; 6 (issue 14, terminals and image defaults); 8 (issue 18): SandboxBackend::pull_image
// and PluginContext::images; 9 (issue 14, parity): SandboxSpec::files/max_file_bytes/workspace,
// Fs::write parents, Handle::set_env, SandboxBackend::volumes and remove_volume; 10 (issue 15,
// the port proxy): Handle::connect_port, Capabilities::connect_port; 12 (issue 19, egress):
// SandboxSpec::egress; 13 (issue 18, image verbs): SandboxBackend::images, inspect_image,
// remove_image, prune_images, import_image, ImageInfo; 14 (issue 19, live egress):
// Handle::set_egress, Capabilities::set_egress; 15 (issue 19, published ports):
// SandboxSpec::ports holds PortMapping, PortBinding::sandbox_port and protocol, Handle::ports
// refuses by default (Errc::unsupported).
inline constexpr std::uint32_t kPluginApiVersion = 15;

struct PluginContext {
  std::string name;                         // the backend name it is loaded as
  ConfigTable config;                       // its [backends.<name>] table (maybe empty)
  std::shared_ptr<spdlog::logger> logger;   // the host's logger; never null
  std::string state_dir;                    // where hutch keeps state (root: /var/lib/hutch)
  ImageSettings images;                     // the [images] table: pulls, registries, credentials
};

// Builds the backend. May throw hutch::Error (e.g. Errc::config via context.config.fail);
// any other exception is reported by the loader as "factory threw: <what()>".
using PluginFactory = std::shared_ptr<SandboxBackend>(const PluginContext& context);

}  // namespace hutch

#define HUTCH_PLUGIN(factory_function)                                                   \
  extern "C" BOOST_SYMBOL_EXPORT const std::uint32_t hutch_plugin_api_version =          \
      ::hutch::kPluginApiVersion;                                                        \
  BOOST_DLL_ALIAS(factory_function, hutch_plugin_create)
