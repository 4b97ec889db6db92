// The optional verbs on one sandbox: fork, snapshot, pause, unpause, stats, port. Each checks the
// owning backend's capabilities first (sandbox_lookup.hpp): with one backend to look in, an
// unsupported verb fails before any engine is contacted.
#include "command.hpp"
#include "output.hpp"
#include "sandbox_lookup.hpp"

#include <hutch/backend.hpp>
#include <hutch/error.hpp>
#include <hutch/ports.hpp>
#include <hutch/units.hpp>

#include <cstdio>
#include <iostream>
#include <memory>
#include <optional>

namespace hutch::cli {

namespace {

int fork(Session& session, const std::string& id) {
  auto source = find_sandbox_with(session, id, &Capabilities::fork, "fork").handle;
  std::cout << source->fork()->id() << '\n';
  return 0;
}

int snapshot(Session& session, const std::string& id, const std::string& label) {
  auto source = find_sandbox_with(session, id, &Capabilities::snapshot, "snapshot").handle;
  const SnapshotInfo snapshot = source->snapshot(label);
  if (session.options.json)
    print_json(to_json(snapshot));
  else
    std::cout << snapshot.id << '\n';
  return 0;
}

int pause(Session& session, const std::string& id, bool paused) {
  auto sandbox = find_sandbox_with(session, id, &Capabilities::pause, paused ? "pause" : "unpause").handle;
  if (paused)
    sandbox->pause();
  else
    sandbox->unpause();
  return 0;
}

std::string format_optional_size(const std::optional<std::uint64_t>& bytes, const char* absent) {
  return bytes ? format_size(*bytes) : absent;
}

int stats(Session& session, const std::string& id) {
  const Stats stats = find_sandbox_with(session, id, &Capabilities::stats, "stats").handle->stats();
  if (session.options.json) {
    print_json(to_json(stats));
    return 0;
  }
  char cpu_percent[32];
  std::snprintf(cpu_percent, sizeof cpu_percent, "%.1f%%", stats.cpu_percent);
  print_fields({
      {"cpu", cpu_percent},
      {"cpu time", format_duration(std::chrono::duration_cast<Duration>(
                       std::chrono::nanoseconds(stats.cpu_usage_ns)))},
      {"memory", format_size(stats.memory_bytes)},
      {"memory limit", format_optional_size(stats.memory_limit_bytes, "unlimited")},
      {"pids", std::to_string(stats.pids)},
      {"net rx", format_optional_size(stats.net_rx_bytes, "n/a")},
      {"net tx", format_optional_size(stats.net_tx_bytes, "n/a")},
  });
  return 0;
}

// `hutch port ID [SANDBOX_PORT[/PROTOCOL]]` (docker port): where the host reaches the
// sandbox's published ports. Each line "80/tcp -> 127.0.0.1:32768 http://127.0.0.1:32768";
// with a port, only the addresses it is bound to, one a line (for `curl $(hutch port ID 80)`).
int port(Session& session, const std::string& id, const std::string& filter) {
  std::optional<PortBinding> wanted;
  if (!filter.empty()) {
    try {
      const PortMapping mapping = parse_port_mapping(filter);
      if (mapping.host_port != 0 || mapping.host_ip != PortMapping{}.host_ip) throw Error(Errc::invalid_argument, "");
      wanted = PortBinding{mapping.sandbox_port, {}, 0, mapping.protocol};
    } catch (const Error&) {
      throw Error(Errc::invalid_argument, "port: '" + filter + "' is not SANDBOX_PORT[/tcp|udp], like 80 or 53/udp");
    }
  }
  std::vector<PortBinding> bindings;
  for (auto& binding : find_sandbox_with(session, id, &Capabilities::ports, "port").handle->ports())
    if (!wanted || (binding.sandbox_port == wanted->sandbox_port && binding.protocol == wanted->protocol))
      bindings.push_back(std::move(binding));
  if (wanted && bindings.empty())
    throw Error(Errc::not_found, "sandbox " + id + " publishes no port " + std::to_string(wanted->sandbox_port) + "/" +
                                     to_string(wanted->protocol) + " (or it is stopped); 'hutch port " + id +
                                     "' lists what it publishes");
  if (session.options.json) {
    boost::json::array list;
    for (const auto& binding : bindings) list.push_back(to_json(binding));
    print_json(list);
    return 0;
  }
  for (const auto& binding : bindings) {
    if (wanted) {
      std::cout << connect_address(binding) << '\n';
      continue;
    }
    std::cout << binding.sandbox_port << '/' << to_string(binding.protocol) << " -> " << connect_address(binding);
    if (auto url = http_url(binding)) std::cout << ' ' << *url;
    std::cout << '\n';
  }
  return 0;
}

CLI::App* add_verb(CLI::App& app, const std::string& name, const std::string& description,
                   std::shared_ptr<std::string> id) {
  CLI::App* command = app.add_subcommand(name, description);
  add_id_argument(*command, *id);
  return command;
}

}  // namespace

void register_sandbox_verb_commands(CLI::App& app, Session& session, CommandTable& table) {
  auto fork_id = std::make_shared<std::string>();
  table.add(add_verb(app, "fork", "copy a sandbox into a new one and print the new id", fork_id),
            [&session, fork_id] { return fork(session, *fork_id); });

  auto snapshot_id = std::make_shared<std::string>();
  auto snapshot_label = std::make_shared<std::string>();
  CLI::App* snapshot_command =
      add_verb(app, "snapshot", "store a sandbox's filesystem and print the snapshot id", snapshot_id);
  snapshot_command->add_option("LABEL", *snapshot_label, "a label for the snapshot");
  table.add(snapshot_command, [&session, snapshot_id, snapshot_label] {
    return snapshot(session, *snapshot_id, *snapshot_label);
  });

  auto pause_id = std::make_shared<std::string>();
  table.add(add_verb(app, "pause", "freeze every process of a sandbox", pause_id),
            [&session, pause_id] { return pause(session, *pause_id, true); });

  auto unpause_id = std::make_shared<std::string>();
  table.add(add_verb(app, "unpause", "thaw a paused sandbox", unpause_id),
            [&session, unpause_id] { return pause(session, *unpause_id, false); });

  auto stats_id = std::make_shared<std::string>();
  table.add(add_verb(app, "stats", "cpu, memory and process counts of a sandbox", stats_id),
            [&session, stats_id] { return stats(session, *stats_id); });

  auto port_id = std::make_shared<std::string>();
  auto port_filter = std::make_shared<std::string>();
  CLI::App* port_command = add_verb(app, "port", "where the host reaches a sandbox's published ports (--publish)", port_id);
  port_command->add_option("SANDBOX_PORT", *port_filter, "only this port: SANDBOX_PORT[/tcp|udp]; prints its addresses");
  table.add(port_command, [&session, port_id, port_filter] { return port(session, *port_id, *port_filter); });
}

}  // namespace hutch::cli
