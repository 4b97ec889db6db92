#include "tls_options.hpp"

#include <hutch/error.hpp>

namespace hutch::server {

TlsOptions read_tls_options(const ConfigTable& serve) {
  TlsOptions options;
  auto read = [&](const char* key, std::optional<tls::PemFile>& into) {
    if (auto path = serve.get_string(key)) into = tls::PemFile{*path, serve.where(key) + ": [serve] " + key};
  };
  read("tls_cert", options.cert);
  read("tls_key", options.key);
  read("tls_client_ca", options.client_ca);
  return options;
}

std::optional<boost::asio::ssl::context> make_tls_context(const TlsOptions& options) {
  if (!options.enabled()) return std::nullopt;
  if (!options.cert || !options.key) {
    const tls::PemFile& given = options.cert ? *options.cert : options.key ? *options.key : *options.client_ca;
    throw Error(Errc::config, given.setting + " is set, but TLS needs both tls_cert and tls_key (--tls-cert, --tls-key)");
  }
  return tls::make_server_context(*options.cert, *options.key, options.client_ca);
}

}  // namespace hutch::server
