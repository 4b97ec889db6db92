// Loads the registry client module (core/registry/) the first time an image is pulled, so that
// programs that never pull do not load OpenSSL at start.
#include <hutch/error.hpp>
#include <hutch/log.hpp>
#include <hutch/plugin.hpp>
#include <hutch/registry.hpp>

#include <boost/dll/runtime_symbol_info.hpp>
#include <boost/dll/shared_library.hpp>

#include <dlfcn.h>

#include <mutex>

namespace hutch {

namespace {

constexpr const char* kModuleFile = "hutch-registry.so";
constexpr const char* kVersionSymbol = "hutch_registry_api_version";
constexpr const char* kFactorySymbol = "hutch_registry_create";

using Factory = std::shared_ptr<RegistryClient>(const ImageSettings&, std::shared_ptr<spdlog::logger>);

// Loaded once and never unloaded (RTLD_NODELETE): OpenSSL registers handlers at exit.
const boost::dll::shared_library& registry_module() {
  static std::mutex mutex;
  static std::unique_ptr<boost::dll::shared_library> library;
  std::lock_guard lock(mutex);
  if (library) return *library;
  const auto file = boost::dll::this_line_location().parent_path() / kModuleFile;
  auto loaded = std::make_unique<boost::dll::shared_library>();
  boost::dll::fs::error_code error;
  loaded->load(file, static_cast<boost::dll::load_mode::type>(RTLD_NOW | RTLD_LOCAL | RTLD_NODELETE), error);
  if (error || !loaded->is_loaded()) {
    const char* why = ::dlerror();
    throw Error(Errc::plugin, "cannot load the registry client module '" + file.string() +
                                  "': " + (why != nullptr ? why : error.message()));
  }
  if (!loaded->has(kVersionSymbol) || loaded->get<const std::uint32_t>(kVersionSymbol) != kPluginApiVersion)
    throw Error(Errc::plugin, "registry client module '" + file.string() +
                                  "' was built for another hutch version; reinstall hutch");
  library = std::move(loaded);
  return *library;
}

}  // namespace

std::shared_ptr<RegistryClient> open_registry_client(const ImageSettings& settings,
                                                     std::shared_ptr<spdlog::logger> log) {
  auto& factory = registry_module().get_alias<Factory>(kFactorySymbol);
  return factory(settings, log ? std::move(log) : logger());
}

}  // namespace hutch
