// The E2B compatibility layer (issue 16): E2B's control-plane REST API under /e2b and envd's
// API under /e2b/envd, so the official E2B SDKs run unmodified against `hutch serve`
// (E2B_API_URL=http://HOST:PORT/e2b, E2B_SANDBOX_URL=http://HOST:PORT/e2b/envd). A translation
// over the service's own calls: the Service, the backends' Handle/Fs/Process, and the
// service's ProcessRegistry; nothing here runs a sandbox by itself.
//
// One file per E2B service, as envd's own code is organised (packages/envd/spec):
//   control_plane.cpp     E2B's REST API: sandboxes, timeouts, pause/resume/connect, refusals
//   envd_http.cpp         envd's HTTP routes: /health, GET/POST /files
//   envd_filesystem.cpp   filesystem.proto's filesystem.Filesystem
//   envd_process.cpp      process.proto's process.Process
//   envd_ports.cpp        the sandbox's other ports (E2b-Sandbox-Port, "PORT-ID.<domain>")
//   connect_protocol.cpp  the Connect protocol (JSON codec) the two RPC services speak
//   context.cpp           what they share: keys, envd access tokens, templates, error answers
#pragma once

#include "router.hpp"

#include <map>
#include <string>

namespace hutch::server {

// What an E2B template id stands for: an image to make sandboxes from, or a warm pool
// ([serve.pools.NAME]) whose ready sandboxes the template's creates hand out. One is set.
struct E2bTemplate {
  std::string image;
  std::string pool;
};

struct E2bOptions {
  // [serve.e2b.templates]: E2B template id -> `"IMAGE"` or `{ pool = "NAME" }`; "base" (E2B's
  // default template) is the backend's default image unless mapped here.
  std::map<std::string, E2bTemplate> templates;
  // [serve.e2b] domain: sandboxes' ports are served at the host names "PORT-ID.<domain>" (what
  // the SDK's Sandbox.getHost(PORT) answers once the control plane names this domain); empty:
  // only by the E2b-Sandbox-Port header (envd_ports.cpp).
  std::string domain;
};

// Adds the /e2b and /e2b/envd routes to `router`. `service` must outlive the router.
void add_e2b_routes(Router& router, Service& service, const E2bOptions& options);

}  // namespace hutch::server
