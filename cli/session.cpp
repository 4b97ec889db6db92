#include "session.hpp"

#include <hutch/loader.hpp>
#include <hutch/log.hpp>

#include <algorithm>
#include <cstdlib>

namespace hutch::cli {

const Config& Session::config() {
  if (!config_) {
    // The command-line level first, so that loading the configuration can already be traced.
    if (options.log_level) set_log_level(*options.log_level);
    config_ = load_config(options.config_file);
    set_log_level(options.log_level.value_or(config_->log_level));
  }
  return *config_;
}

namespace {

// The backend that speaks to a `hutch serve`; it reads the service's address from $HUTCH_HOST.
constexpr const char* kRemoteBackend = "remote";

}  // namespace

bool Session::remote_selected() {
  if (options.host) {
    // --host wins over $HUTCH_HOST and [backends.remote] host: the plugin reads the variable.
    ::setenv("HUTCH_HOST", options.host->c_str(), 1);
    return true;
  }
  const char* host = std::getenv("HUTCH_HOST");
  return host != nullptr && *host != '\0';
}

std::string Session::backend_name() {
  if (options.backend) return *options.backend;
  if (remote_selected()) return kRemoteBackend;
  return config().backend;
}

SandboxBackend& Session::backend() { return backend_named(backend_name()); }

std::vector<std::string> Session::searched_backend_names() {
  if (options.backend) return {*options.backend};
  if (remote_selected()) return {kRemoteBackend};
  std::vector<std::string> names{config().backend};
  for (const auto& [name, table] : config().backends)
    if (std::find(names.begin(), names.end(), name) == names.end()) names.push_back(name);
  return names;
}

SandboxBackend& Session::backend_named(const std::string& name) {
  std::shared_ptr<SandboxBackend>& loaded = backends_[name];
  if (!loaded) loaded = open_backend(config(), name, logger());
  return *loaded;
}

SandboxBackend& Session::backend_with(bool Capabilities::*capability, const std::string& verb) {
  SandboxBackend& selected = backend();
  if (!(selected.capabilities().*capability)) throw_unsupported(selected.name(), verb);
  return selected;
}

}  // namespace hutch::cli
