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

}  // namespace

Settings read_settings(const PluginContext& context) {
  const ConfigTable& table = context.config;
  for (const char* key : {"tls_ca", "tls_cert", "tls_key"})
    if (table.contains(key))
      table.fail(key, "TLS to the service is not available in the remote backend yet; reach the service over its "
                      "Unix socket (unix:///PATH) or loopback TCP");
  Settings settings;
  const auto host_from_table = table.get_string("host");
  const auto host_from_env = environment("HUTCH_HOST");
  const auto host = host_from_env ? host_from_env : host_from_table;
  try {
    settings.address = host ? server::parse_listen_address(*host) : server::default_listen_address();
  } catch (const Error& error) {
    throw Error(Errc::config, (host_from_env ? std::string("HUTCH_HOST") : table.where("host")) + ": " + error.what());
  }
  const auto token_from_table = table.get_string("token");
  settings.token = environment("HUTCH_TOKEN").value_or(token_from_table.value_or(""));
  settings.service_backend = table.get_string("backend").value_or("");
  table.reject_unknown_keys();
  return settings;
}

}  // namespace hutch::remote
