// The service's settings: [serve] in the configuration, then the command line over it.
//   [serve]
//   listen = ["unix:///run/hutch/hutch.sock", "tcp://127.0.0.1:8080"]   # default: the socket
//   tokens_file = "/etc/hutch/tokens"    # NAME TOKEN [tenant=VALUE] per line
//   header_timeout = "30s"               # the whole request header must arrive within this
//   idle_timeout = "60s"                 # each body read / response write must progress within this
//   body_limit = "16m"                   # largest JSON request body (file uploads are streamed)
//   workers = 32                         # threads that run backend calls
//   [serve.pools.python]                 # a warm pool (pools.hpp): `size` ready sandboxes
//   size = 4
//   max_age = "30m"                      # a ready one older than this is replaced
//   backend = "subcontainer"             # default: the default backend
//   image = "..."                        # + any sandbox key of [defaults] (read_spec_keys)
//   [serve.e2b.templates]                # E2B template id -> image (e2b/e2b.hpp)
//   base = "docker.io/library/python:3.12"
#pragma once

#include "connection.hpp"
#include "e2b/e2b.hpp"
#include "listen_address.hpp"

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
  ConnectionLimits limits;
  std::uint64_t json_body_limit = 16u << 20;
  unsigned workers = 32;
  E2bOptions e2b;
  std::vector<PoolOptions> pools;
  bool destroy_on_exit = false;  // --destroy-on-exit: remove the service's sandboxes when it ends
};

// Reads [serve] (Errc::config naming file:line:col and the key for a bad or unknown key).
ServeOptions read_serve_options(const ConfigTable& table);

}  // namespace hutch::server
