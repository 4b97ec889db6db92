#include "output.hpp"

#include <hutch/ports.hpp>
#include <hutch/spec.hpp>
#include <hutch/spec_json.hpp>
#include <hutch/units.hpp>

#include <algorithm>
#include <iostream>

namespace hutch::cli {

namespace json = boost::json;
using json_io::optional_json;
using json_io::string_array;

namespace {

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
  for (const auto& port : spec.ports) ports.emplace_back(format_port_mapping(port));
  object["ports"] = std::move(ports);
  json::array egress;
  for (const auto& rule : spec.egress)
    egress.push_back(json::object{{"action", to_string(rule.action)}, {"destination", rule.destination}});
  object["egress"] = std::move(egress);
  object["entrypoint"] = spec.entrypoint ? json::value(string_array(*spec.entrypoint)) : json::value(nullptr);
  return object;
}

json::object to_json(const SandboxInfo& info) { return json_io::to_json(info, to_json(info.spec)); }

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
