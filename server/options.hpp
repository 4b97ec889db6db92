// The service's settings: [serve] in the configuration, then the command line over it.
//   [serve]
//   listen = ["unix:///run/hutch/hutch.sock", "tcp://127.0.0.1:8080"]   # default: the socket
//   tokens_file = "/etc/hutch/tokens"    # NAME TOKEN [tenant=VALUE] per line
//   header_timeout = "30s"               # the whole request header must arrive within this
//   idle_timeout = "60s"                 # each body read / response write must progress within this
//   body_limit = "16m"                   # largest JSON request body (file uploads are streamed)
//   workers = 32                         # threads that run backend calls
//   events_keepalive = "15s"             # a quiet GET /v1/events stream sends a comment this often
//   max_requests = 256, max_streams = 64, max_sandboxes = 100   # caps in all (caps.hpp): 429 past one
//   max_requests_per_token = 32, max_streams_per_token = 8, max_sandboxes_per_token = 10
//   tls_cert = "/etc/hutch/cert.pem"     # TLS on every TCP listener (tls_options.hpp)
//   tls_key = "/etc/hutch/key.pem"
//   tls_client_ca = "/etc/hutch/ca.pem"  # optional: clients must show a certificate it signed
//   [serve.pools.python]                 # a warm pool (pools.hpp): `size` ready sandboxes
//   size = 4
//   max_age = "30m"                      # a ready one older than this is replaced
//   backend = "subcontainer"             # default: the default backend
//   image = "..."                        # + any sandbox key of [defaults] (read_spec_keys)
//   [serve.e2b]
//   domain = "sbx.example.com"           # sandboxes' ports at PORT-ID.<domain> (e2b/e2b.hpp)
//   [serve.e2b.templates]                # E2B template id -> image or pool (e2b/e2b.hpp)
//   base = "docker.io/library/python:3.12"
//   python = { pool = "python" }          # creates hand out a ready sandbox of [serve.pools.python]
#pragma once

#include "caps.hpp"
#include "connection.hpp"
#include "e2b/e2b.hpp"
#include "listen_address.hpp"
#include "tls_options.hpp"

#include <hutch/config.hpp>

#include <optional>
#include <string>
#include <vector>

namespace hutch::server {

// One [serve.pools.NAME] table.
struct PoolOptions {
  std::string name;
  SandboxSpec spec;  // the table's sandbox keys; [defaults] fills in the rest when made
  std::size_t size = 1;
  Duration max_age{std::chrono::hours(1)};
  std::optional<std::string> backend;  // unset: the service's default backend
};

struct ServeOptions {
  std::vector<ListenAddress> listen;   // empty: default_listen_address()
  std::optional<std::string> tokens_file;
  TlsOptions tls;
  CapOptions caps;
  ConnectionLimits limits;
  std::uint64_t json_body_limit = 16u << 20;
  unsigned workers = 32;
  std::chrono::milliseconds events_keepalive{15000};
  E2bOptions e2b;
  std::vector<PoolOptions> pools;
  bool destroy_on_exit = false;  // --destroy-on-exit: remove the service's sandboxes when it ends
};

// Reads [serve] (Errc::config naming file:line:col and the key for a bad or unknown key).
ServeOptions read_serve_options(const ConfigTable& table);

}  // namespace hutch::server
