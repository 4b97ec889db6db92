// hutch.toml: what each section means, where the file is looked for, and the built-in defaults.
#include <hutch/config.hpp>
#include <hutch/error.hpp>
#include <hutch/spec.hpp>
#include <hutch/spec_config.hpp>
#include <hutch/types.hpp>
#include <hutch/units.hpp>
#include <hutch/workspace.hpp>

#include <pwd.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

namespace hutch {
namespace {

namespace fs = std::filesystem;

constexpr std::array<std::string_view, 7> kLogLevels{"trace", "debug", "info",    "warn",
                                                     "error", "critical", "off"};
// The kernel's upper bound for pid_max.
constexpr std::int64_t kMaxPids = 4'194'304;
constexpr double kMaxCpus = 1024;

std::string env_or_empty(const char* name) {
  const char* value = std::getenv(name);
  return value == nullptr ? std::string() : std::string(value);
}

// $HOME, or the passwd entry when HOME is unset; empty when neither is known.
std::string home_dir() {
  std::string home = env_or_empty("HOME");
  if (!home.empty()) return home;
  std::vector<char> buffer(16384);
  passwd entry{};
  passwd* found = nullptr;
  if (getpwuid_r(geteuid(), &entry, buffer.data(), buffer.size(), &found) == 0 && found != nullptr &&
      found->pw_dir != nullptr)
    return found->pw_dir;
  return {};
}

// An XDG base directory variable is only honoured when absolute (the spec says to ignore
// relative ones).
std::string xdg_dir(const char* variable, std::string_view fallback_under_home) {
  std::string value = env_or_empty(variable);
  if (!value.empty() && value.front() == '/') return value;
  std::string home = home_dir();
  if (home.empty()) return {};
  return home + "/" + std::string(fallback_under_home);
}

Duration positive_duration(const ConfigTable& table, const std::string& key, Duration value) {
  if (value.count() <= 0)
    table.fail(key, "expected a duration greater than zero, got " + format_duration(value));
  return value;
}

// A limit key written "unlimited" (else it is a size or a number, read as such).
bool says_unlimited(const ConfigTable& table, const std::string& key) {
  if (!table.contains(key)) return false;
  try {
    const auto text = table.get_string(key);
    return text && is_unlimited(*text);
  } catch (const Error&) {
    return false;  // not a string: a number, which the caller reads
  }
}

void read_env(const ConfigTable& env_table, Env& env) {
  for (const auto& key : env_table.keys()) {
    if (key.empty() || key.find('=') != std::string::npos ||
        key.find('\0') != std::string::npos)
      env_table.fail(key, "an environment variable name must not be empty or contain '='");
    env[key] = *env_table.get_string(key);
  }
}

}  // namespace

void read_spec_keys(const ConfigTable& table, SandboxSpec& spec) {
  if (auto image = table.get_string("image")) spec.image = *image;
  if (auto env = table.get_table("env")) read_env(*env, spec.env);
  if (auto workdir = table.get_string("workdir")) {
    if (!workdir->empty() && workdir->front() != '/')
      table.fail("workdir", "expected an absolute path inside the sandbox, got \"" + *workdir + "\"");
    spec.workdir = *workdir;
  }
  if (auto user = table.get_string("user")) spec.user = *user;
  if (says_unlimited(table, "memory")) {
    spec.limits.memory_unlimited = true;
  } else if (auto memory = table.get_size("memory")) {
    if (*memory == 0) table.fail("memory", "expected a size greater than zero, got 0");
    spec.limits.memory_bytes = *memory;
  }
  if (auto cpus = table.get_double("cpus", 0.01, kMaxCpus)) spec.limits.cpus = *cpus;
  if (says_unlimited(table, "pids"))
    spec.limits.pids_unlimited = true;
  else if (auto pids = table.get_int("pids", 1, kMaxPids))
    spec.limits.pids = static_cast<std::uint32_t>(*pids);
  if (auto network = table.get_string("network")) {
    try {
      spec.network = parse_network_mode(*network);
    } catch (const Error&) {
      table.fail("network", "expected one of \"none\", \"host\", \"bridge\", got \"" + *network + "\"");
    }
  }
  if (auto read_only = table.get_bool("read_only")) spec.read_only_root = *read_only;
  if (auto max_file_bytes = table.get_size("max_file_bytes")) {
    if (*max_file_bytes == 0) table.fail("max_file_bytes", "expected a size greater than zero, got 0");
    spec.max_file_bytes = *max_file_bytes;
  }
  if (auto workspace = table.get_string("workspace")) {
    try {
      validate_workspace(*workspace);
    } catch (const Error& e) {
      table.fail("workspace", std::string("expected \"ephemeral\", \"none\" or a volume name: ") + e.what());
    }
    spec.workspace = *workspace;
  }
  if (auto ttl = table.get_duration("ttl")) spec.ttl = positive_duration(table, "ttl", *ttl);
  if (auto idle = table.get_duration("idle_timeout"))
    spec.idle_timeout = positive_duration(table, "idle_timeout", *idle);
  if (auto grace = table.get_duration("stop_grace")) spec.stop_grace = checked_stop_grace(table, "stop_grace", *grace);
}

namespace {

void read_defaults(const ConfigTable& table, Config& config) {
  if (auto backend = table.get_string("backend")) {
    if (backend->empty()) table.fail("backend", "expected a backend name like \"subcontainer\" or a plugin path, got \"\"");
    config.backend = *backend;
  }
  read_spec_keys(table, config.defaults);
  if (auto timeout = table.get_duration("timeout"))
    config.exec_timeout = positive_duration(table, "timeout", *timeout);
  if (auto start_timeout = table.get_duration("start_timeout"))
    config.exec_start_timeout = positive_duration(table, "start_timeout", *start_timeout);
  if (auto level = table.get_string("log_level")) {
    if (std::find(kLogLevels.begin(), kLogLevels.end(), *level) == kLogLevels.end())
      table.fail("log_level", "expected one of trace, debug, info, warn, error, critical, off, got \"" +
                                  *level + "\"");
    config.log_level = *level;
  }
  if (auto state_dir = table.get_string("state_dir")) {
    if (state_dir->empty() || state_dir->front() != '/')
      table.fail("state_dir", "expected an absolute path, got \"" + *state_dir + "\"");
    config.state_dir = *state_dir;
  }
  config.env_policy.passthrough = table.get_string_array("env_passthrough").value_or(std::vector<std::string>{});
  config.env_policy.block = table.get_string_array("env_block").value_or(std::vector<std::string>{});
  if (auto map = table.get_table("image_map")) config.image_map = read_image_map(*map);
  table.reject_unknown_keys();
}

void read_plugins(const ConfigTable& table, Config& config) {
  if (auto paths = table.get_string_array("paths")) config.plugin_paths = *paths;
  table.reject_unknown_keys();
}

// Each [backends.<name>] table goes to its plugin unread: the plugin knows its own keys.
void read_backends(const ConfigTable& table, Config& config) {
  for (const auto& name : table.keys()) config.backends.emplace_back(name, *table.get_table(name));
}

// The path if it names a readable regular file; an Errc::config error naming `origin` if not.
fs::path require_file(const std::string& path, const std::string& origin) {
  std::error_code ec;
  auto status = fs::status(path, ec);
  if (ec || !fs::exists(status))
    throw Error(Errc::config, "config file '" + path + "' (" + origin + ") does not exist");
  if (!fs::is_regular_file(status))
    throw Error(Errc::config, "config file '" + path + "' (" + origin + ") is not a regular file");
  return path;
}

bool is_file(const fs::path& path) {
  std::error_code ec;
  return fs::is_regular_file(path, ec);
}

}  // namespace

Duration checked_stop_grace(const ConfigTable& table, const std::string& key, Duration value) {
  if (value.count() < 0 || value.count() > kMaxStopGraceMs)
    table.fail(key, "expected a duration from 0 to 49 days, got " + format_duration(value));
  return value;
}

std::optional<Duration> read_legacy_stop_grace(const ConfigTable& backend_table,
                                               const std::function<void(const std::string&)>& warn) {
  auto grace = backend_table.get_duration("stop_grace");
  if (!grace) return std::nullopt;
  warn(backend_table.where("stop_grace") + ": " + backend_table.path() +
       ".stop_grace is deprecated: set stop_grace in [defaults] (or per sandbox: SandboxSpec::stop_grace, "
       "`--stop-grace`); this one applies only to sandboxes whose spec sets none");
  return checked_stop_grace(backend_table, "stop_grace", *grace);
}

std::string default_state_dir() {
  if (geteuid() == 0) return "/var/lib/hutch";
  std::string base = xdg_dir("XDG_STATE_HOME", ".local/state");
  // No home at all (a stripped service environment): a per-user directory that still works.
  if (base.empty()) return "/tmp/hutch-" + std::to_string(geteuid());
  return base + "/hutch";
}

ImageMap read_image_map(const ConfigTable& table) {
  ImageMap map;
  for (const auto& key : table.keys()) {
    auto image = table.get_string(key);
    if (!image || image->empty()) table.fail(key, "expected a non-empty image name");
    if (key == "default")
      map.set_default(*image);
    else
      map.add(key, *image);
  }
  table.reject_unknown_keys();
  return map;
}

ConfigTable Config::backend_table(const std::string& name) const {
  for (const auto& [backend_name, table] : backends)
    if (backend_name == name) return table;
  return ConfigTable();
}

Config parse_config(const std::string& text, const std::string& source_name) {
  ConfigTable root = ConfigTable::parse(text, source_name);
  Config config;
  config.source = source_name;
  if (auto defaults = root.get_table("defaults")) read_defaults(*defaults, config);
  if (auto images = root.get_table("images")) config.images = read_image_settings(*images);
  if (auto plugins = root.get_table("plugins")) read_plugins(*plugins, config);
  if (auto backends = root.get_table("backends")) read_backends(*backends, config);
  if (auto serve = root.get_table("serve")) config.serve = *serve;
  root.reject_unknown_keys();
  return config;
}

Config load_config_file(const fs::path& file) {
  std::ifstream in(file, std::ios::binary);
  if (!in)
    throw Error(Errc::config,
                "cannot read config file '" + file.string() + "': " + std::strerror(errno));
  std::ostringstream text;
  text << in.rdbuf();
  if (in.bad())
    throw Error(Errc::config, "cannot read config file '" + file.string() + "'");
  return parse_config(text.str(), file.string());
}

std::optional<fs::path> find_config_file(const std::optional<std::string>& explicit_path) {
  if (explicit_path) return require_file(*explicit_path, "given with --config");
  if (std::string from_env = env_or_empty("HUTCH_CONFIG"); !from_env.empty())
    return require_file(from_env, "from $HUTCH_CONFIG");

  std::vector<fs::path> candidates;
  std::error_code ec;
  fs::path cwd = fs::current_path(ec);
  if (!ec) candidates.push_back(cwd / "hutch.toml");
  // ~/.config, or $XDG_CONFIG_HOME where the user moved it.
  if (std::string config_home = xdg_dir("XDG_CONFIG_HOME", ".config"); !config_home.empty())
    candidates.push_back(fs::path(config_home) / "hutch" / "hutch.toml");
  candidates.emplace_back("/etc/hutch/hutch.toml");
  for (const auto& candidate : candidates)
    if (is_file(candidate)) return candidate;
  return std::nullopt;
}

Config load_config(const std::optional<std::string>& explicit_path) {
  if (auto file = find_config_file(explicit_path)) return load_config_file(*file);
  return Config{};
}

}  // namespace hutch
