// Configuration (TOML, read with toml++ inside libhutch; toml++ types never cross the SDK).
//
// Every mistake in a file — an unknown key, a wrong type, a value out of range — is an
// Error(Errc::config) whose message starts with "file:line:col: " and names the key, e.g.
//   /etc/hutch/hutch.toml:12:10: defaults.memory: expected a size like "512m", got "lots"
#pragma once

#include <hutch/env_filter.hpp>
#include <hutch/export.hpp>
#include <hutch/image_map.hpp>
#include <hutch/image_settings.hpp>
#include <hutch/types.hpp>

#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace hutch {

// A view of one TOML table together with the file it came from. Backends read their
// [backends.<name>] table through it. Every getter marks its key as known; after reading,
// call reject_unknown_keys() so a misspelt key is an error instead of being ignored.
// Copies share the record of which keys were read.
class HUTCH_API ConfigTable {
 public:
  ConfigTable();  // an empty table from "<built-in>"
  ~ConfigTable();
  ConfigTable(const ConfigTable&);
  ConfigTable& operator=(const ConfigTable&);

  bool contains(const std::string& key) const;
  bool empty() const;

  std::optional<std::string> get_string(const std::string& key) const;
  std::optional<bool> get_bool(const std::string& key) const;
  std::optional<std::int64_t> get_int(const std::string& key, std::int64_t min,
                                      std::int64_t max) const;
  std::optional<double> get_double(const std::string& key, double min, double max) const;
  // A size: an integer (bytes) or a string such as "512m".
  std::optional<std::uint64_t> get_size(const std::string& key) const;
  // A duration: an integer (seconds) or a string such as "30s".
  std::optional<Duration> get_duration(const std::string& key) const;
  // An array of strings (a single string is not accepted in its place).
  std::optional<std::vector<std::string>> get_string_array(const std::string& key) const;
  // A sub-table ([a.b]); its keys are checked by its own reject_unknown_keys.
  std::optional<ConfigTable> get_table(const std::string& key) const;
  // The keys of this table, in file order (for tables whose keys are names, like [backends]).
  std::vector<std::string> keys() const;

  // Throws Errc::config for the first key that no getter has read.
  void reject_unknown_keys() const;

  // "file:line:col" of `key` (or of the table itself when key is empty).
  std::string where(const std::string& key = {}) const;
  // The dotted name of the table ("backends.docker"); empty at the root.
  const std::string& path() const;
  // Throws Errc::config "<where(key)>: <path>.<key>: <message>".
  [[noreturn]] void fail(const std::string& key, const std::string& message) const;

  // Parses a whole document. Syntax errors are Errc::config with file:line:col.
  static ConfigTable parse(const std::string& text, const std::string& source_name);

 private:
  struct Impl;
  std::shared_ptr<Impl> impl_;
  explicit ConfigTable(std::shared_ptr<Impl> impl);
};

// An image_map table: "<name or prefix>" = "<image>", and default = "<image>"; every value a
// non-empty string (Errc::config at the key otherwise).
HUTCH_API ImageMap read_image_map(const ConfigTable& table);

// A stop_grace: 0 to kMaxStopGraceMs, else Errc::config naming `key` in `table`.
HUTCH_API Duration checked_stop_grace(const ConfigTable& table, const std::string& key, Duration value);

// The `stop_grace` key a [backends.<name>] table had before [defaults] stop_grace replaced it:
// still read (checked as that one) for sandboxes whose spec sets none, with `warn` told where
// the key belongs now.
HUTCH_API std::optional<Duration> read_legacy_stop_grace(const ConfigTable& backend_table,
                                                          const std::function<void(const std::string&)>& warn);

// /var/lib/hutch as root; $XDG_STATE_HOME/hutch (or ~/.local/state/hutch) otherwise.
HUTCH_API std::string default_state_dir();

struct HUTCH_API Config {
  std::string source = "<built-in>";  // the file read, or "<built-in>"

  // [defaults]
  std::string backend = "subcontainer";
  SandboxSpec defaults;  // image, env, workdir, user, limits, network, read_only_root
  std::optional<Duration> exec_timeout;  // default per-command timeout of `hutch run/exec`
  std::optional<Duration> exec_start_timeout;  // default ExecRequest::start_timeout of `hutch run/exec`
  std::string log_level = "warn";
  std::string state_dir = default_state_dir();
  EnvPolicy env_policy;  // env_passthrough, env_block: host variables every sandbox inherits
  ImageMap image_map;    // [defaults.image_map]: name or prefix -> image, and "default"

  // [images]: pull policy, insecure registries, credentials (image_settings.hpp)
  ImageSettings images;

  // [plugins]
  std::vector<std::string> plugin_paths;  // searched before HUTCH_PLUGIN_PATH and the install dir

  // [backends.<name>]: handed to the plugin of that name unchanged.
  std::vector<std::pair<std::string, ConfigTable>> backends;
  // The table of `name`, or an empty one.
  ConfigTable backend_table(const std::string& name) const;

  // [serve]: handed to the service (`hutch serve`) unread; it checks its own keys.
  ConfigTable serve;
};

// Parses a configuration document (all keys checked).
HUTCH_API Config parse_config(const std::string& text, const std::string& source_name);
HUTCH_API Config load_config_file(const std::filesystem::path& file);

// The file `load_config` would read: `explicit_path` if given (it must exist), else
// $HUTCH_CONFIG (must exist), ./hutch.toml, ~/.config/hutch/hutch.toml, /etc/hutch/hutch.toml; nullopt
// when none exists (built-in defaults apply).
HUTCH_API std::optional<std::filesystem::path> find_config_file(
    const std::optional<std::string>& explicit_path);

// find_config_file + load_config_file, or the built-in defaults.
HUTCH_API Config load_config(const std::optional<std::string>& explicit_path = std::nullopt);

}  // namespace hutch
