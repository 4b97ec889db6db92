#include "session.hpp"

#include <hutch/loader.hpp>
#include <hutch/log.hpp>

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

std::string Session::backend_name() { return options.backend.value_or(config().backend); }

SandboxBackend& Session::backend() {
  if (!backend_) backend_ = open_backend(config(), backend_name(), logger());
  return *backend_;
}

SandboxBackend& Session::backend_with(bool Capabilities::*capability, const std::string& verb) {
  SandboxBackend& selected = backend();
  if (!(selected.capabilities().*capability)) throw_unsupported(selected.name(), verb);
  return selected;
}

}  // namespace hutch::cli
