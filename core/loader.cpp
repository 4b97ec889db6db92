// Finding a plugin file, loading it with Boost.DLL, checking its API version and calling its
// factory. The objects it returns are wrapped in the pinning proxies of plugin_proxies.hpp.
#include "plugin_proxies.hpp"

#include <hutch/error.hpp>
#include <hutch/loader.hpp>
#include <hutch/log.hpp>

#include <boost/dll/runtime_symbol_info.hpp>
#include <boost/dll/shared_library.hpp>
#include <spdlog/spdlog.h>

#include <dlfcn.h>

#include <cstdlib>
#include <exception>
#include <sstream>
#include <string_view>
#include <utility>

namespace hutch {

namespace {

namespace fs = std::filesystem;

constexpr const char* kVersionSymbol = "hutch_plugin_api_version";
constexpr const char* kFactorySymbol = "hutch_plugin_create";
constexpr std::string_view kFilePrefix = "hutch-";
constexpr std::string_view kFileSuffix = ".so";

fs::path libhutch_directory() {
  return boost::dll::this_line_location().parent_path().lexically_normal().native();
}

bool names_a_file(const std::string& name_or_path) {
  return name_or_path.find('/') != std::string::npos ||
         std::string_view(name_or_path).ends_with(kFileSuffix);
}

std::vector<std::string> env_plugin_path() {
  std::vector<std::string> directories;
  const char* value = std::getenv("HUTCH_PLUGIN_PATH");
  if (value == nullptr) return directories;
  std::stringstream entries(value);
  for (std::string entry; std::getline(entries, entry, ':');)
    if (!entry.empty()) directories.push_back(entry);
  return directories;
}

std::vector<std::string> search_directories(const PluginSearch& search) {
  std::vector<std::string> directories;
  for (const auto& path : search.paths)
    if (!path.empty()) directories.push_back(path);
  if (search.use_env)
    for (auto& path : env_plugin_path()) directories.push_back(std::move(path));
  if (search.use_install_dir) {
    directories.push_back(plugin_install_dir().string());
    // Run from a build tree (<build>/lib/libhutch.so), the plugins are in <build>/plugins.
    fs::path build_tree = libhutch_directory().parent_path() / "plugins";
    std::error_code ignored;
    if (fs::is_directory(build_tree, ignored)) directories.push_back(build_tree.string());
  }
  return directories;
}

std::string join(const std::vector<std::string>& items) {
  std::string joined;
  for (const auto& item : items) {
    if (!joined.empty()) joined += ", ";
    joined += item;
  }
  return joined;
}

bool is_file(const fs::path& path) {
  std::error_code ignored;
  return fs::is_regular_file(path, ignored);
}

fs::path absolute_path(const fs::path& path) {
  std::error_code ignored;
  fs::path absolute = fs::absolute(path, ignored);
  return (absolute.empty() ? path : absolute).lexically_normal();
}

// dlerror() usually starts with the file name, which our message already leads with.
std::string dlerror_text(const std::string& file) {
  const char* text = dlerror();
  if (text == nullptr) return "unknown dynamic loader error";
  std::string_view message(text);
  const std::string prefix = file + ": ";
  if (message.starts_with(prefix)) message.remove_prefix(prefix.size());
  return std::string(message);
}

detail::PluginLibrary load_library(const fs::path& file, bool unload_when_unused) {
  // RTLD_NOW: an unresolved symbol fails here, with a message, not later in the middle of a
  // call. RTLD_NODELETE: see PluginSearch::unload_when_unused.
  int mode = RTLD_NOW | RTLD_LOCAL;
  if (!unload_when_unused) mode |= RTLD_NODELETE;
  auto library = std::make_shared<boost::dll::shared_library>();
  boost::dll::fs::error_code error;
  library->load(file.string(), static_cast<boost::dll::load_mode::type>(mode), error);
  if (error || !library->is_loaded())
    throw Error(Errc::plugin, file.string() + ": cannot load: " + dlerror_text(file.string()));
  return library;
}

void check_api_version(const boost::dll::shared_library& library, const std::string& file) {
  if (!library.has(kVersionSymbol))
    throw Error(Errc::plugin, file + ": not a hutch plugin (symbol '" + kVersionSymbol + "' missing)");
  const std::uint32_t version = library.get<const std::uint32_t>(kVersionSymbol);
  if (version != kPluginApiVersion)
    throw Error(Errc::plugin, file + ": wrong plugin API version: plugin has " +
                                  std::to_string(version) + ", hutch expects " +
                                  std::to_string(kPluginApiVersion) +
                                  " (rebuild the plugin against this hutch)");
}

std::shared_ptr<SandboxBackend> call_factory(const boost::dll::shared_library& library,
                                             const std::string& file,
                                             const PluginContext& context) {
  if (!library.has(kFactorySymbol))
    throw Error(Errc::plugin, file + ": not a hutch plugin (symbol '" + kFactorySymbol + "' missing)");
  auto& factory = library.get_alias<PluginFactory>(kFactorySymbol);
  std::shared_ptr<SandboxBackend> backend;
  // The exception objects may belong to the plugin: turn them into hutch::Error here, while the
  // library is still loaded.
  try {
    backend = factory(context);
  } catch (const Error& error) {
    throw Error(error.code() == Errc::config ? Errc::config : Errc::plugin,
                file + ": " + error.what());
  } catch (const std::exception& error) {
    throw Error(Errc::plugin, file + ": plugin factory threw: " + error.what());
  } catch (...) {
    throw Error(Errc::plugin, file + ": plugin factory threw an exception that is not a std::exception");
  }
  if (!backend) throw Error(Errc::plugin, file + ": plugin factory returned no backend");
  return backend;
}

std::string backend_name_of(const std::string& name_or_path) {
  if (!names_a_file(name_or_path)) return name_or_path;
  std::string stem = fs::path(name_or_path).stem().string();
  if (std::string_view(stem).starts_with(kFilePrefix)) stem.erase(0, kFilePrefix.size());
  return stem;
}

}  // namespace

// Relative to where libhutch itself is (<libdir>/libhutch.so → <libdir>/hutch/plugins), so an
// install moved to another prefix still finds its plugins.
fs::path plugin_install_dir() { return libhutch_directory() / "hutch" / "plugins"; }

fs::path find_plugin(const std::string& name_or_path, const PluginSearch& search) {
  if (name_or_path.empty()) throw Error(Errc::plugin, "plugin name is empty");
  if (names_a_file(name_or_path)) {
    fs::path file = absolute_path(name_or_path);
    if (!is_file(file))
      throw Error(Errc::plugin, "plugin '" + name_or_path + "' not found (no such file: " +
                                    file.string() + ")");
    return file;
  }
  const std::string file_name = std::string(kFilePrefix) + name_or_path + std::string(kFileSuffix);
  const auto directories = search_directories(search);
  for (const auto& directory : directories) {
    fs::path candidate = fs::path(directory) / file_name;
    if (is_file(candidate)) return absolute_path(candidate);
  }
  throw Error(Errc::plugin, "plugin '" + name_or_path + "' not found (searched: " +
                                (directories.empty() ? std::string("no directories") : join(directories)) +
                                ")");
}

std::shared_ptr<SandboxBackend> load_backend(const std::string& name_or_path,
                                             const PluginSearch& search,
                                             const PluginContext& context) {
  const fs::path path = find_plugin(name_or_path, search);
  const std::string file = path.string();
  // Declared before anything the plugin makes, so it is released after all of it.
  detail::PluginLibrary library = load_library(path, search.unload_when_unused);
  check_api_version(*library, file);

  PluginContext checked_context = context;
  if (!checked_context.logger) checked_context.logger = logger();
  auto backend = call_factory(*library, file, checked_context);
  checked_context.logger->debug("loaded plugin {} as backend '{}'", file, checked_context.name);
  return std::make_shared<detail::PinnedBackend>(std::move(library), std::move(backend));
}

std::shared_ptr<SandboxBackend> open_backend(const Config& config, const std::string& name,
                                             std::shared_ptr<spdlog::logger> logger) {
  const std::string backend_name = backend_name_of(name);
  PluginContext context{backend_name, config.backend_table(backend_name),
                        logger ? std::move(logger) : hutch::logger(), config.state_dir, config.images};
  return load_backend(name, PluginSearch{config.plugin_paths}, context);
}

}  // namespace hutch
