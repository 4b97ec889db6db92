#include "values_json.hpp"

#include <hutch/ports.hpp>
#include <hutch/spec_json.hpp>

#include <ctime>

namespace hutch::json_io {

namespace json = boost::json;

json::array string_array(const std::vector<std::string>& items) {
  json::array array;
  for (const auto& item : items) array.emplace_back(item);
  return array;
}

json::object to_json(const std::map<std::string, std::string>& map) {
  json::object object;
  for (const auto& [key, value] : map) object[key] = value;
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
  object["stop"] = capabilities.stop;
  object["lifetimes"] = capabilities.lifetimes;
  object["connect_port"] = capabilities.connect_port;
  object["set_egress"] = capabilities.set_egress;
  json::array networks;
  for (NetworkMode mode : capabilities.network_modes) networks.emplace_back(to_string(mode));
  object["network_modes"] = std::move(networks);
  json::array mounts;
  for (MountType type : capabilities.mount_types) mounts.emplace_back(to_string(type));
  object["mount_types"] = std::move(mounts);
  return object;
}

json::object to_json(const ImageDefaults& defaults) { return json::parse(defaults_to_json(defaults)).as_object(); }

json::value spec_json(const SandboxSpec& spec) { return json::parse(spec_to_json(spec)); }

json::object to_json(const SandboxInfo& info, json::value spec) {
  json::object object;
  object["id"] = info.id;
  object["backend"] = info.backend;
  object["image"] = info.image;
  object["state"] = to_string(info.state);
  object["created"] = format_time(info.created);
  object["expires_at"] = info.expires_at ? json::value(format_time(*info.expires_at)) : json::value(nullptr);
  object["labels"] = to_json(info.labels);
  object["spec"] = std::move(spec);
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

const char* to_string(FileType type) {
  switch (type) {
    case FileType::regular: return "regular";
    case FileType::directory: return "directory";
    case FileType::symlink: return "symlink";
    case FileType::other: return "other";
  }
  return "other";
}

json::object to_json(const FileStat& stat) {
  json::object object;
  object["type"] = to_string(stat.type);
  object["size"] = stat.size;
  object["mode"] = stat.mode;
  object["uid"] = stat.uid;
  object["gid"] = stat.gid;
  object["mtime"] = format_time(stat.mtime);
  object["link_target"] = stat.link_target;
  return object;
}

json::object to_json(const DirEntry& entry) {
  json::object object = to_json(entry.stat);
  object["name"] = entry.name;
  return object;
}

json::object to_json(const PortBinding& binding) {
  const auto url = http_url(binding);
  return {{"sandbox_port", binding.sandbox_port},
          {"host_address", binding.host_address},
          {"host_port", binding.host_port},
          {"protocol", to_string(binding.protocol)},
          {"address", connect_address(binding)},
          {"url", url ? json::value(*url) : json::value(nullptr)}};
}

}  // namespace hutch::json_io
