// Finding and loading backend plugins.
//
// A plugin is named either by path (anything containing a '/', or ending in ".so") or by
// backend name, which is looked up as "hutch-<name>.so" in, in order: the configured search
// paths, the entries of $HUTCH_PLUGIN_PATH (':'-separated), and the install directory.
//
// Each failure is an Error(Errc::plugin) whose message names the file:
//   plugin 'x' not found (searched: a, b, c)
//   <file>: not a hutch plugin (symbol 'hutch_plugin_api_version' missing)
//   <file>: wrong plugin API version: plugin has N, hutch expects M
//   <file>: plugin factory threw: <message>
//   <file>: cannot load: <dlerror>
//
// The returned backend keeps its shared library loaded for as long as the backend, or any
// handle, process or Fs obtained from it, is alive.
#pragma once

#include <hutch/backend.hpp>
#include <hutch/config.hpp>
#include <hutch/export.hpp>
#include <hutch/plugin.hpp>

#include <filesystem>
#include <memory>
#include <string>
#include <vector>

namespace spdlog {
class logger;
}

namespace hutch {

struct PluginSearch {
  std::vector<std::string> paths;  // configured search paths, searched first
  bool use_env = true;             // also $HUTCH_PLUGIN_PATH
  bool use_install_dir = true;     // also the directory plugins are installed to
  // Production keeps a loaded plugin in memory for good (a backend's leftover threads or
  // thread_local destructors may still run its code). Tests set this to unload the library
  // once the last object from it is gone, which exposes lifetime bugs.
  bool unload_when_unused = false;
};

// The file a plugin name resolves to. Throws the "not found" error.
HUTCH_API std::filesystem::path find_plugin(const std::string& name_or_path,
                                          const PluginSearch& search);

// Loads the plugin, checks its API version, calls its factory.
HUTCH_API std::shared_ptr<SandboxBackend> load_backend(const std::string& name_or_path,
                                                     const PluginSearch& search,
                                                     const PluginContext& context);

// Loads backend `name` as `config` describes it ([plugins] paths, [backends.<name>] table,
// state_dir). `name` may also be a path to a plugin file.
HUTCH_API std::shared_ptr<SandboxBackend> open_backend(const Config& config, const std::string& name,
                                                     std::shared_ptr<spdlog::logger> logger);

// The directory plugins are installed to (compiled in).
HUTCH_API std::filesystem::path plugin_install_dir();

}  // namespace hutch
