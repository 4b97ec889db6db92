// The [backends.remote] table and the environment, read once when the plugin is made. Keys:
//   host     "unix:///PATH" | "tcp://HOST:PORT": where `hutch serve` listens. $HUTCH_HOST wins
//            over it (the CLI's --host sets that); default: the service's default socket
//            (/run/hutch/hutch.sock for root, $XDG_RUNTIME_DIR/hutch/hutch.sock otherwise).
//   token    the bearer token ($HUTCH_TOKEN wins over it); empty: none is sent.
//   backend  the service's backend new sandboxes are made with (default: the service's default).
//   tls_ca, tls_cert, tls_key: TLS to the service — not available yet: setting one is refused
//            (Errc::config) rather than silently sending the token in clear text.
#pragma once

#include "service_client.hpp"

#include <hutch/plugin.hpp>

#include <string>

namespace hutch::remote {

struct Settings {
  ServiceAddress address;
  std::string token;
  std::string service_backend;  // empty: the service's default
};

Settings read_settings(const PluginContext& context);

}  // namespace hutch::remote
