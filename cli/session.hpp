// The state every verb shares: the global options, and the configuration and backend they
// select, loaded on first use so that `hutch --help` or a parse error touches neither.
#pragma once

#include <hutch/backend.hpp>
#include <hutch/config.hpp>

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace hutch::cli {

struct GlobalOptions {
  std::optional<std::string> config_file;
  std::optional<std::string> backend;  // a name or a path to a plugin file
  // A `hutch serve` to use (unix:///PATH or tcp://HOST:PORT): the remote backend, reaching it.
  std::optional<std::string> host;
  std::optional<std::string> log_level;
  bool json = false;
};

class Session {
 public:
  GlobalOptions options;

  // The configuration (--config, $HUTCH_CONFIG, the lookup order, or the built-in defaults);
  // also applies the log level.
  const Config& config();

  // The name or path the user asked for (--backend), else "remote" with --host or $HUTCH_HOST,
  // else the configured default.
  std::string backend_name();

  // The selected backend, loaded once.
  SandboxBackend& backend();

  // The backends that `ls` and the verbs taking an ID look in: with --backend, that one alone;
  // with --host or $HUTCH_HOST, the remote one alone; else the configured default first, then each backend with a [backends.<name>] table.
  std::vector<std::string> searched_backend_names();

  // Backend `name` (a name or a plugin path), loaded once: later calls return the same object.
  // Errc::plugin (or the factory's error) when it does not load.
  SandboxBackend& backend_named(const std::string& name);

  // The selected backend if it has `capability`, else Errc::unsupported "backend '<name>' does
  // not support <verb>" — decided from its capabilities, before any engine is contacted.
  SandboxBackend& backend_with(bool Capabilities::*capability, const std::string& verb);

 private:
  // Whether --host or $HUTCH_HOST selects the remote backend (--host is handed to it as
  // $HUTCH_HOST).
  bool remote_selected();

  std::optional<Config> config_;
  std::map<std::string, std::shared_ptr<SandboxBackend>> backends_;
};

}  // namespace hutch::cli
