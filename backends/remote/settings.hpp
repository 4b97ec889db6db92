// The [backends.remote] table and the environment, read once when the plugin is made. Keys:
//   host     "unix:///PATH" | "tcp://HOST:PORT" | "https://HOST:PORT": where `hutch serve`
//            listens. $HUTCH_HOST wins over it (the CLI's --host sets that); default: the
//            service's default socket (/run/hutch/hutch.sock for root,
//            $XDG_RUNTIME_DIR/hutch/hutch.sock otherwise). https:// is TLS, and the only way
//            to TLS: tcp:// is plain TCP (a service without tls_cert, on loopback).
//   token    the bearer token ($HUTCH_TOKEN wins over it); empty: none is sent.
//   backend  the service's backend new sandboxes are made with (default: the service's default).
//   tls_ca   PEM CA the service's certificate must be signed by ($HUTCH_TLS_CA wins over it);
//            default: the system's CA store. The certificate must also name HOST.
//   tls_cert, tls_key: PEM client certificate and key, for a service with tls_client_ca
//            ($HUTCH_TLS_CERT, $HUTCH_TLS_KEY win over them); both or neither.
//   The tls_* settings need an https:// host: with another one they are refused (Errc::config),
//   never silently unused.
#pragma once

#include "service_client.hpp"

#include <hutch/plugin.hpp>

#include <string>

namespace hutch::remote {

struct Settings {
  ServiceAddress address;  // address.tls: https://, with `tls`
  std::string token;
  std::string service_backend;  // empty: the service's default
  TlsFiles tls;
};

Settings read_settings(const PluginContext& context);

}  // namespace hutch::remote
