// The route table of the service, top to bottom; server/openapi.json documents each route.
#include "routes.hpp"

#include "http_error.hpp"
#include "values_json.hpp"

#include <hutch/error.hpp>
#include <hutch/spec_json.hpp>

namespace hutch::server {

Router make_router() {
  Router router;
  router.add("GET", "/healthz", get_health, /*open=*/true);
  router.add("GET", "/v1/openapi.json", get_openapi, /*open=*/true);
  router.add("GET", "/v1/backends", get_backends);
  router.add("GET", "/v1/events", get_events);  // Server-Sent Events (routes_events.cpp)
  router.add("GET", "/metrics", get_metrics);   // Prometheus text; operator tokens only

  router.add("POST", "/v1/sandboxes", create_sandbox);
  router.add("GET", "/v1/sandboxes", list_sandboxes);
  router.add("GET", "/v1/sandboxes/{id}", get_sandbox);
  router.add("DELETE", "/v1/sandboxes/{id}", delete_sandbox);
  router.add("PATCH", "/v1/sandboxes/{id}", patch_sandbox);
  router.add("POST", "/v1/sandboxes/{id}/stop", stop_sandbox);
  router.add("POST", "/v1/sandboxes/{id}/start", start_sandbox);
  router.add("POST", "/v1/sandboxes/{id}/pause", pause_sandbox);
  router.add("POST", "/v1/sandboxes/{id}/unpause", unpause_sandbox);
  router.add("POST", "/v1/sandboxes/{id}/fork", fork_sandbox);
  router.add("POST", "/v1/sandboxes/{id}/snapshot", snapshot_sandbox);
  router.add("GET", "/v1/sandboxes/{id}/stats", get_stats);
  router.add("GET", "/v1/sandboxes/{id}/ports", get_published_ports);
  router.add("POST", "/v1/prune", prune_sandboxes);
  router.add("GET", "/v1/pools", list_pools);

  router.add("GET", "/v1/snapshots", list_snapshots);
  router.add("DELETE", "/v1/snapshots/{id}", delete_snapshot);
  router.add("POST", "/v1/snapshots/{id}/restore", restore_snapshot);

  router.add("POST", "/v1/sandboxes/{id}/exec", exec_command);
  router.add("GET", "/v1/sandboxes/{id}/exec", stream_command);  // a WebSocket: server/STREAMS.md
  router.add("POST", "/v1/sandboxes/{id}/launch", launch_command);
  router.add("GET", "/v1/sandboxes/{id}/logs", command_logs);
  router.add("POST", "/v1/sandboxes/{id}/processes", start_process);
  router.add("GET", "/v1/sandboxes/{id}/processes", list_processes);
  router.add("GET", "/v1/sandboxes/{id}/processes/{pid}", get_process);  // or a WebSocket: STREAMS.md
  router.add("POST", "/v1/sandboxes/{id}/processes/{pid}/signal", signal_process);

  // The port proxy: every method, any path below the port (routes_ports.cpp).
  for (const char* method : {"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
    router.add(method, "/v1/sandboxes/{id}/ports/{port}/{*}", proxy_port);

  router.add("GET", "/v1/sandboxes/{id}/files", read_file);
  router.add("PUT", "/v1/sandboxes/{id}/files", write_file);
  router.add("DELETE", "/v1/sandboxes/{id}/files", remove_file);
  router.add("GET", "/v1/sandboxes/{id}/files/list", list_files);
  router.add("GET", "/v1/sandboxes/{id}/files/stat", stat_file);
  router.add("POST", "/v1/sandboxes/{id}/files/mkdir", make_directory);
  router.add("POST", "/v1/sandboxes/{id}/files/move", move_file);
  router.add("POST", "/v1/sandboxes/{id}/files/symlink", make_symlink);
  return router;
}

void respond_json(Context& context, unsigned status, const boost::json::value& document) {
  context.exchange.respond(status, "application/json", boost::json::serialize(document));
}

boost::json::object read_json_object(Context& context) {
  const std::string body = context.exchange.read_body(context.service.json_body_limit());
  if (body.find_first_not_of(" \t\r\n") == std::string::npos) return {};
  boost::system::error_code ec;
  boost::json::value document = boost::json::parse(body, ec);
  if (ec) throw Error(Errc::invalid_argument, "the request body is not valid JSON: " + ec.message());
  if (!document.is_object()) throw Error(Errc::invalid_argument, "the request body must be a JSON object");
  return std::move(document.as_object());
}

OwnedSandbox sandbox_of(Context& context) { return context.service.find(context.caller, context.request().params.at("id")); }

boost::json::object sandbox_json(const SandboxInfo& info) { return json_io::to_json(info, json_io::spec_json(info.spec)); }

std::string required_query(Context& context, const std::string& name) {
  auto value = context.request().query_value(name);
  if (!value) throw Error(Errc::invalid_argument, "query parameter '" + name + "' is required");
  return *value;
}

}  // namespace hutch::server
