// The [images] table and where registry credentials come from.
#include "docker_cli_credentials.hpp"

#include <hutch/config.hpp>
#include <hutch/error.hpp>
#include <hutch/registry.hpp>

#include <arpa/inet.h>

namespace hutch {

namespace {

// "host:5000" -> "host", "[::1]:5000" -> "::1".
std::string host_of(const std::string& registry) {
  if (!registry.empty() && registry.front() == '[') {
    const auto close = registry.find(']');
    return registry.substr(1, close == std::string::npos ? std::string::npos : close - 1);
  }
  return registry.substr(0, registry.find(':'));
}

bool is_loopback(const std::string& host) {
  if (host == "localhost" || host == "::1") return true;
  in_addr address{};
  return ::inet_pton(AF_INET, host.c_str(), &address) == 1 && (ntohl(address.s_addr) >> 24) == 127;
}

}  // namespace

std::string_view to_string(PullPolicy policy) noexcept {
  switch (policy) {
    case PullPolicy::missing: return "missing";
    case PullPolicy::always: return "always";
    case PullPolicy::never: return "never";
  }
  return "missing";
}

bool ImageSettings::is_insecure(const std::string& registry) const {
  if (loopback_insecure && is_loopback(host_of(registry))) return true;
  for (const std::string& insecure : insecure_registries)
    if (insecure == registry || insecure == host_of(registry)) return true;
  return false;
}

std::optional<RegistryCredentials> ImageSettings::credentials_for(const std::string& registry) const {
  if (const auto it = auth.find(registry); it != auth.end()) return it->second;
  if (!docker_config) return std::nullopt;
  return detail::docker_cli_credentials(registry);
}

ImageSettings read_image_settings(const ConfigTable& table) {
  ImageSettings settings;
  if (auto pull = table.get_string("pull")) {
    if (*pull == "missing") settings.pull = PullPolicy::missing;
    else if (*pull == "always") settings.pull = PullPolicy::always;
    else if (*pull == "never") settings.pull = PullPolicy::never;
    else table.fail("pull", "expected \"missing\", \"always\" or \"never\", got \"" + *pull + "\"");
  }
  if (auto registries = table.get_string_array("insecure_registries")) {
    for (const std::string& registry : *registries)
      if (registry.empty() || registry.find('/') != std::string::npos)
        table.fail("insecure_registries", "expected registries as host or host:port, got \"" + registry + "\"");
    settings.insecure_registries = *registries;
  }
  if (auto loopback = table.get_bool("loopback_insecure")) settings.loopback_insecure = *loopback;
  if (auto docker_config = table.get_bool("docker_config")) settings.docker_config = *docker_config;
  if (auto auth = table.get_table("auth")) {
    for (const std::string& registry : auth->keys()) {
      const ConfigTable entry = *auth->get_table(registry);
      RegistryCredentials credentials;
      credentials.username = entry.get_string("username").value_or("");
      credentials.password = entry.get_string("password").value_or("");
      credentials.identity_token = entry.get_string("identity_token").value_or("");
      entry.reject_unknown_keys();
      if (credentials.username.empty() == credentials.identity_token.empty())
        auth->fail(registry, "needs username (and password) or identity_token, not both");
      settings.auth[registry] = std::move(credentials);
    }
    auth->reject_unknown_keys();
  }
  table.reject_unknown_keys();
  return settings;
}

}  // namespace hutch
