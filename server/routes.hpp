// The handlers of /v1, one file per resource (routes_sandboxes.cpp, routes_commands.cpp,
// routes_files.cpp, routes_system.cpp); routes.cpp lists them all in one table. Handlers only
// decode the request, call the SandboxBackend / Handle / Fs interfaces, and encode the answer;
// errors are thrown as hutch::Error and answered by the router.
#pragma once

#include "router.hpp"

#include <boost/json.hpp>

namespace hutch::server {

// Helpers every handler uses.
void respond_json(Context& context, unsigned status, const boost::json::value& document);
// The request body as a JSON object; Errc::invalid_argument when it is not one (an empty body
// is an empty object), Errc::too_large past the JSON body limit.
boost::json::object read_json_object(Context& context);
// The sandbox named by the route's {id}, if the caller may see it (Service::find).
OwnedSandbox sandbox_of(Context& context);
// A sandbox as the API shows it: the info, with the spec as hutch::spec_to_json writes it.
boost::json::object sandbox_json(const SandboxInfo& info);
// The value of query parameter `name`; Errc::invalid_argument naming it when absent.
std::string required_query(Context& context, const std::string& name);

// routes_system.cpp
void get_health(Context& context);
void get_openapi(Context& context);
void get_backends(Context& context);
// routes_events.cpp, routes_metrics.cpp
void get_events(Context& context);
void get_metrics(Context& context);
// routes_sandboxes.cpp
void create_sandbox(Context& context);
void list_sandboxes(Context& context);
void get_sandbox(Context& context);
void delete_sandbox(Context& context);
void patch_sandbox(Context& context);
void stop_sandbox(Context& context);
void start_sandbox(Context& context);
void pause_sandbox(Context& context);
void unpause_sandbox(Context& context);
void fork_sandbox(Context& context);
void snapshot_sandbox(Context& context);
void get_stats(Context& context);
// Handle::ports(): where the service's host reaches the sandbox's published ports.
void get_published_ports(Context& context);
void prune_sandboxes(Context& context);
void list_pools(Context& context);
// routes_snapshots.cpp
void list_snapshots(Context& context);
void delete_snapshot(Context& context);
void restore_snapshot(Context& context);
// routes_ports.cpp
void proxy_port(Context& context);
// The port proxy itself, shared with E2B's port requests (e2b/envd_ports.cpp): `text` as a port
// 1-65535 (Errc::invalid_argument naming `what` otherwise); the request relayed to that port
// of `handle`'s sandbox through Handle::connect_port, its target without the first
// `strip_segments` path segments, without Authorization and the headers in `drop_headers`. The
// relay is a stream of `streamer` (Caps::take_stream, Errc::rate_limited past a cap), its place
// held until the relay ends.
std::uint16_t port_number(const std::string& text, const std::string& what);
void relay_to_port(Context& context, const Caller& streamer, Handle& handle, std::uint16_t port,
                   std::size_t strip_segments, const std::vector<std::string>& drop_headers = {});
// routes_commands.cpp
void exec_command(Context& context);
void launch_command(Context& context);
void command_logs(Context& context);
// routes_streams.cpp
void stream_command(Context& context);
// routes_processes.cpp
void start_process(Context& context);
void list_processes(Context& context);
void get_process(Context& context);  // with an Upgrade: websocket, an attachment
void signal_process(Context& context);
// routes_files.cpp
void read_file(Context& context);
void write_file(Context& context);
void remove_file(Context& context);
void list_files(Context& context);
void stat_file(Context& context);
void make_directory(Context& context);
void move_file(Context& context);
void make_symlink(Context& context);

}  // namespace hutch::server
