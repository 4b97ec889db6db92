// The inverse of values_json.cpp: hutch's value types read back from the JSON the service
// writes, for the remote backend. A document that does not have the expected form is
// Errc::backend naming the field (the service, not the caller, answered something wrong).
#include "values_json.hpp"

#include "object_reader.hpp"

#include <hutch/spec_json.hpp>

#include <ctime>

namespace hutch::json_io {

namespace json = boost::json;

namespace {

constexpr Errc kCode = Errc::backend;

// The value of `key` (a string) matched against to_string of each of `values`.
template <class Enum, std::size_t N>
Enum enum_field(const ObjectReader& fields, const std::string& key, const Enum (&values)[N]) {
  const std::string text = fields.string(key).value_or("");
  for (Enum value : values)
    if (text == to_string(value)) return value;
  fields.fail(key, "unknown value '" + text + "'");
}

std::chrono::system_clock::time_point time_field(const ObjectReader& fields, const std::string& key) {
  const auto text = fields.string(key);
  if (!text) return {};
  return parse_time(*text, fields.field(key));
}

std::optional<std::chrono::system_clock::time_point> optional_time(const ObjectReader& fields, const std::string& key) {
  if (!fields.string(key)) return std::nullopt;
  return time_field(fields, key);
}

}  // namespace

std::chrono::system_clock::time_point parse_time(const std::string& text, const std::string& field) {
  std::tm utc{};
  const char* end = ::strptime(text.c_str(), "%Y-%m-%dT%H:%M:%SZ", &utc);
  if (end == nullptr || *end != '\0')
    ObjectReader::fail_at(field, "expected a time like 2026-11-22T07:00:00Z, got '" + text + "'", kCode);
  return std::chrono::system_clock::from_time_t(::timegm(&utc));
}

Capabilities capabilities_from_json(const json::value& document) {
  const auto fields = ObjectReader::of(document, "capabilities", kCode);
  Capabilities caps;
  caps.fork = fields.boolean("fork").value_or(false);
  caps.snapshot = fields.boolean("snapshot").value_or(false);
  caps.pause = fields.boolean("pause").value_or(false);
  caps.stdin = fields.boolean("stdin").value_or(false);
  caps.ports = fields.boolean("ports").value_or(false);
  caps.tty = fields.boolean("tty").value_or(false);
  caps.stats = fields.boolean("stats").value_or(false);
  caps.persistent = fields.boolean("persistent").value_or(false);
  caps.launch = fields.boolean("launch").value_or(false);
  caps.stop = fields.boolean("stop").value_or(false);
  caps.lifetimes = fields.boolean("lifetimes").value_or(false);
  caps.set_egress = fields.boolean("set_egress").value_or(false);
  caps.network_modes.clear();
  for (const auto& mode : fields.string_array("network_modes").value_or(std::vector<std::string>{}))
    caps.network_modes.push_back(parse_network_mode(mode));
  for (const auto& type : fields.string_array("mount_types").value_or(std::vector<std::string>{}))
    caps.mount_types.push_back(parse_mount_type(type));
  return caps;
}

MainCommandInfo main_command_from_json(const json::value& document) {
  const auto fields = ObjectReader::of(document, "main_command", kCode);
  static constexpr MainCommandState kStates[] = {MainCommandState::running, MainCommandState::exited, MainCommandState::killed};
  MainCommandInfo main;
  main.state = enum_field(fields, "state", kStates);
  main.argv = fields.string_array("argv").value_or(std::vector<std::string>{});
  main.pid = static_cast<int>(fields.integer("pid").value_or(0));
  main.started = time_field(fields, "started");
  main.ended = optional_time(fields, "ended");
  main.exit_code = static_cast<int>(fields.integer("exit_code").value_or(-1));
  main.signal = static_cast<int>(fields.integer("signal").value_or(0));
  return main;
}

SandboxInfo sandbox_info_from_json(const json::value& document) {
  const auto fields = ObjectReader::of(document, "", kCode);
  static constexpr SandboxState kStates[] = {SandboxState::creating, SandboxState::running, SandboxState::paused,
                                             SandboxState::stopped,  SandboxState::expired, SandboxState::unknown};
  SandboxInfo info;
  info.id = fields.string("id").value_or("");
  info.backend = fields.string("backend").value_or("");
  info.image = fields.string("image").value_or("");
  info.state = enum_field(fields, "state", kStates);
  info.labels = fields.string_map("labels").value_or(Labels{});
  info.created = time_field(fields, "created");
  info.expires_at = optional_time(fields, "expires_at");
  if (const auto* spec = fields.find("spec")) info.spec = spec_from_json(json::serialize(*spec));
  if (const auto* main = fields.find("main_command")) info.main_command = main_command_from_json(*main);
  if (const auto* defaults = fields.find("defaults")) info.defaults = defaults_from_json(json::serialize(*defaults));
  return info;
}

Stats stats_from_json(const json::value& document) {
  const auto fields = ObjectReader::of(document, "", kCode);
  Stats stats;
  stats.cpu_percent = fields.number("cpu_percent").value_or(0);
  stats.cpu_usage_ns = fields.unsigned_integer("cpu_usage_ns").value_or(0);
  stats.memory_bytes = fields.unsigned_integer("memory_bytes").value_or(0);
  stats.memory_limit_bytes = fields.unsigned_integer("memory_limit_bytes");
  stats.pids = static_cast<std::uint32_t>(fields.integer("pids", 0, UINT32_MAX).value_or(0));
  stats.net_rx_bytes = fields.unsigned_integer("net_rx_bytes");
  stats.net_tx_bytes = fields.unsigned_integer("net_tx_bytes");
  return stats;
}

PortBinding port_binding_from_json(const json::value& document) {
  const auto fields = ObjectReader::of(document, "", kCode);
  PortBinding binding;
  binding.sandbox_port = static_cast<std::uint16_t>(fields.integer("sandbox_port", 0, 65535).value_or(0));
  binding.host_address = fields.string("host_address").value_or("");
  binding.host_port = static_cast<std::uint16_t>(fields.integer("host_port", 0, 65535).value_or(0));
  const std::string protocol = fields.string("protocol").value_or("tcp");
  try {
    binding.protocol = parse_port_protocol(protocol);
  } catch (const Error& error) {
    fields.fail("protocol", error.what());
  }
  return binding;
}

SnapshotInfo snapshot_from_json(const json::value& document) {
  const auto fields = ObjectReader::of(document, "", kCode);
  SnapshotInfo snapshot;
  snapshot.id = fields.string("id").value_or("");
  snapshot.label = fields.string("label").value_or("");
  snapshot.source_sandbox = fields.string("source_sandbox").value_or("");
  snapshot.created = time_field(fields, "created");
  return snapshot;
}

FileStat file_stat_from_json(const json::value& document) {
  const auto fields = ObjectReader::of(document, "", kCode);
  static constexpr FileType kTypes[] = {FileType::regular, FileType::directory, FileType::symlink, FileType::other};
  FileStat stat;
  stat.type = enum_field(fields, "type", kTypes);
  stat.size = fields.unsigned_integer("size").value_or(0);
  stat.mode = static_cast<std::uint32_t>(fields.integer("mode", 0, 07777).value_or(0));
  stat.uid = static_cast<std::uint32_t>(fields.integer("uid", 0, UINT32_MAX).value_or(0));
  stat.gid = static_cast<std::uint32_t>(fields.integer("gid", 0, UINT32_MAX).value_or(0));
  stat.mtime = time_field(fields, "mtime");
  stat.link_target = fields.string("link_target").value_or("");
  return stat;
}

DirEntry dir_entry_from_json(const json::value& document) {
  DirEntry entry;
  entry.stat = file_stat_from_json(document);
  entry.name = ObjectReader::of(document, "", kCode).string("name").value_or("");
  return entry;
}

}  // namespace hutch::json_io
