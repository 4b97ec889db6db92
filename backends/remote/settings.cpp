#include "settings.hpp"

#include <hutch/error.hpp>

#include <cstdlib>

namespace hutch::remote {

namespace {

std::optional<std::string> environment(const char* name) {
  const char* value = std::getenv(name);
  if (value == nullptr || *value == '\0') return std::nullopt;
  return std::string(value);
}

// A PEM file from $`variable` or the table's `key`, the variable first.
std::optional<tls::PemFile> pem_setting(const ConfigTable& table, const char* key, const char* variable) {
  const auto from_table = table.get_string(key);  // read even when the variable wins: a known key
  if (auto path = environment(variable)) return tls::PemFile{*path, std::string("$") + variable};
  if (auto path = from_table) return tls::PemFile{*path, table.where(key) + ": [backends.remote] " + key};
  return std::nullopt;
}

}  // namespace

Settings read_settings(const PluginContext& context) {
  const ConfigTable& table = context.config;
  Settings settings;
  const auto host_from_table = table.get_string("host");
  const auto host_from_env = environment("HUTCH_HOST");
  const auto host = host_from_env ? host_from_env : host_from_table;
  try {
    settings.address = host ? server::parse_listen_address(*host, true) : server::default_listen_address();
  } catch (const Error& error) {
    throw Error(Errc::config, (host_from_env ? std::string("HUTCH_HOST") : table.where("host")) + ": " + error.what());
  }
  const auto token_from_table = table.get_string("token");
  settings.token = environment("HUTCH_TOKEN").value_or(token_from_table.value_or(""));
  settings.service_backend = table.get_string("backend").value_or("");
  settings.tls.ca = pem_setting(table, "tls_ca", "HUTCH_TLS_CA");
  settings.tls.cert = pem_setting(table, "tls_cert", "HUTCH_TLS_CERT");
  settings.tls.key = pem_setting(table, "tls_key", "HUTCH_TLS_KEY");
  if (!settings.address.tls)
    for (const auto* file : {&settings.tls.ca, &settings.tls.cert, &settings.tls.key})
      if (*file)
        throw Error(Errc::config, (*file)->setting + " is set, but the service's address " + settings.address.text() +
                                      " is not https://HOST:PORT: TLS is used with an https:// host only");
  table.reject_unknown_keys();
  return settings;
}

}  // namespace hutch::remote
