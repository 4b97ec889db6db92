#include "output.hpp"

#include <hutch/spec.hpp>
#include <hutch/spec_json.hpp>
#include <hutch/units.hpp>

#include <algorithm>
#include <ctime>
#include <iostream>

namespace hutch::cli {

namespace json = boost::json;

namespace {

json::array string_array(const std::vector<std::string>& items) {
  json::array array;
  for (const auto& item : items) array.emplace_back(item);
  return array;
}

json::object to_json(const Labels& labels) {
  json::object object;
  for (const auto& [key, value] : labels) object[key] = value;
  return object;
}

template <class T>
json::value optional_json(const std::optional<T>& value) {
  if (!value) return nullptr;
  return json::value_from(*value);
}

json::value optional_ms(const std::optional<Duration>& value) {
  if (!value) return nullptr;
  return value->count();
}

json::object to_json(const Mount& mount) {
  json::object object;
  object["type"] = to_string(mount.type);
  object["source"] = mount.source;
  object["target"] = mount.target;
  object["read_only"] = mount.read_only;
  object["kind"] = mount.kind == MountKind::file        ? "file"
                   : mount.kind == MountKind::directory ? "dir"
                                                        : "infer";
  object["subpath"] = mount.subpath;
  if (mount.idmap)
    object["idmap"] = {{"from", mount.idmap->from}, {"to", mount.idmap->to}, {"range", mount.idmap->range}};
  else
    object["idmap"] = nullptr;
  object["tmpfs_size_bytes"] = optional_json(mount.tmpfs_size_bytes);
  object["text"] = format_mount(mount);
  return object;
}

}  // namespace

json::object to_json(const Capabilities& capabilities) {
  json::object object;
  object["fork"] = capabilities.fork;
  object["snapshot"] = capabilities.snapshot;
  object["pause"] = capabilities.pause;
  object["stdin"] = capabilities.stdin;
  object["ports"] = capabilities.ports;
  object["tty"] = capabilities.tty;
  object["stats"] = capabilities.stats;
  object["persistent"] = capabilities.persistent;
  object["launch"] = capabilities.launch;
  json::array networks;
  for (NetworkMode mode : capabilities.network_modes) networks.emplace_back(to_string(mode));
  object["network_modes"] = std::move(networks);
  json::array mounts;
  for (MountType type : capabilities.mount_types) mounts.emplace_back(to_string(type));
  object["mount_types"] = std::move(mounts);
  return object;
}

json::object to_json(const SandboxSpec& spec) {
  json::object object;
  object["image"] = spec.image;
  json::object env;
  for (const auto& [key, value] : spec.env) env[key] = value;
  object["env"] = std::move(env);
  object["workdir"] = spec.workdir;
  object["user"] = spec.user;
  json::array mounts;
  for (const Mount& mount : spec.mounts) mounts.emplace_back(to_json(mount));
  object["mounts"] = std::move(mounts);
  // null: no limit.
  object["limits"] = {{"memory_bytes", optional_json(spec.limits.memory_bytes)},
                      {"cpus", optional_json(spec.limits.cpus)},
                      {"pids", optional_json(spec.limits.pids)},
                      {"memory_defaulted", spec.limits.memory_defaulted},
                      {"pids_defaulted", spec.limits.pids_defaulted}};
  object["network"] = to_string(spec.network);
  object["labels"] = to_json(spec.labels);
  object["ttl_ms"] = optional_ms(spec.ttl);
  object["idle_timeout_ms"] = optional_ms(spec.idle_timeout);
  object["stop_grace_ms"] = optional_ms(spec.stop_grace);
  object["read_only_root"] = spec.read_only_root;
  json::array ports;
  for (std::uint16_t port : spec.ports) ports.emplace_back(port);
  object["ports"] = std::move(ports);
  object["entrypoint"] = spec.entrypoint ? json::value(string_array(*spec.entrypoint)) : json::value(nullptr);
  return object;
}

// The same object the backends store (hutch::defaults_to_json).
json::object to_json(const ImageDefaults& defaults) { return json::parse(defaults_to_json(defaults)).as_object(); }

json::object to_json(const SandboxInfo& info) {
  json::object object;
  object["id"] = info.id;
  object["backend"] = info.backend;
  object["image"] = info.image;
  object["state"] = to_string(info.state);
  object["created"] = format_time(info.created);
  object["expires_at"] = info.expires_at ? json::value(format_time(*info.expires_at)) : json::value(nullptr);
  object["labels"] = to_json(info.labels);
  object["spec"] = to_json(info.spec);
  object["main_command"] = info.main_command ? json::value(to_json(*info.main_command)) : json::value(nullptr);
  object["defaults"] = info.defaults ? json::value(to_json(*info.defaults)) : json::value(nullptr);
  return object;
}

json::object to_json(const MainCommandInfo& main) {
  json::object object;
  object["state"] = to_string(main.state);
  object["argv"] = string_array(main.argv);
  object["pid"] = main.pid;
  object["started"] = format_time(main.started);
  object["ended"] = main.ended ? json::value(format_time(*main.ended)) : json::value(nullptr);
  object["exit_code"] = main.state == MainCommandState::exited ? json::value(main.exit_code) : json::value(nullptr);
  object["signal"] = main.state == MainCommandState::killed ? json::value(main.signal) : json::value(nullptr);
  return object;
}

std::string quote_command(const std::vector<std::string>& argv) {
  std::string command;
  for (const auto& arg : argv) {
    bool plain = !arg.empty() && arg.find_first_of(" \t'\"") == std::string::npos;
    command += (command.empty() ? "" : " ") + (plain ? arg : "'" + arg + "'");
  }
  return command;
}

std::string describe(const MainCommandInfo& main) {
  std::string text = quote_command(main.argv) + " (pid " + std::to_string(main.pid) + ", started " + format_time(main.started) + "): ";
  switch (main.state) {
    case MainCommandState::running: return text + "running";
    case MainCommandState::exited: text += "exited with " + std::to_string(main.exit_code); break;
    case MainCommandState::killed: text += "killed by signal " + std::to_string(main.signal); break;
  }
  return main.ended ? text + " at " + format_time(*main.ended) : text;
}

json::object to_json(const Stats& stats) {
  json::object object;
  object["cpu_percent"] = stats.cpu_percent;
  object["cpu_usage_ns"] = stats.cpu_usage_ns;
  object["memory_bytes"] = stats.memory_bytes;
  object["memory_limit_bytes"] = optional_json(stats.memory_limit_bytes);
  object["pids"] = stats.pids;
  object["net_rx_bytes"] = optional_json(stats.net_rx_bytes);
  object["net_tx_bytes"] = optional_json(stats.net_tx_bytes);
  return object;
}

json::object to_json(const SnapshotInfo& snapshot) {
  json::object object;
  object["id"] = snapshot.id;
  object["label"] = snapshot.label;
  object["source_sandbox"] = snapshot.source_sandbox;
  object["created"] = format_time(snapshot.created);
  return object;
}

std::string format_time(std::chrono::system_clock::time_point time) {
  const std::time_t seconds = std::chrono::system_clock::to_time_t(time);
  std::tm utc{};
  ::gmtime_r(&seconds, &utc);
  char text[32];
  std::strftime(text, sizeof text, "%Y-%m-%dT%H:%M:%SZ", &utc);
  return text;
}


void print_json(const json::value& document) { std::cout << json::serialize(document) << '\n'; }

void print_table(const std::vector<std::vector<std::string>>& rows) {
  std::vector<std::size_t> widths;
  for (const auto& row : rows) {
    widths.resize(std::max(widths.size(), row.size()), 0);
    for (std::size_t column = 0; column < row.size(); ++column)
      widths[column] = std::max(widths[column], row[column].size());
  }
  for (const auto& row : rows) {
    std::string line;
    for (std::size_t column = 0; column < row.size(); ++column) {
      line += row[column];
      if (column + 1 < row.size()) line += std::string(widths[column] - row[column].size() + 2, ' ');
    }
    std::cout << line << '\n';
  }
}

void print_fields(const std::vector<std::pair<std::string, std::string>>& fields) {
  std::size_t width = 0;
  for (const auto& field : fields) width = std::max(width, field.first.size());
  for (const auto& [key, value] : fields)
    std::cout << key << ':' << std::string(width - key.size() + 1, ' ') << value << '\n';
}

}  // namespace hutch::cli
