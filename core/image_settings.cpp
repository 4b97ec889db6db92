// The [images] table and where registry credentials come from.
#include <hutch/base64.hpp>
#include <hutch/config.hpp>
#include <hutch/error.hpp>
#include <hutch/registry.hpp>

#include <boost/json.hpp>

#include <arpa/inet.h>

#include <cstdlib>
#include <fstream>
#include <sstream>

namespace hutch {

namespace {

namespace fs = std::filesystem;
namespace json = boost::json;

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

fs::path docker_config_file() {
  if (const char* dir = std::getenv("DOCKER_CONFIG"); dir != nullptr && *dir != '\0')
    return fs::path(dir) / "config.json";
  const char* home = std::getenv("HOME");
  if (home == nullptr || *home == '\0') return {};
  return fs::path(home) / ".docker" / "config.json";
}

// The docker CLI writes keys as "https://index.docker.io/v1/", "host:port" or "https://host/".
std::string registry_of_docker_key(std::string key) {
  if (const auto scheme = key.find("://"); scheme != std::string::npos) key = key.substr(scheme + 3);
  key = key.substr(0, key.find('/'));
  if (key == "index.docker.io" || key == "registry-1.docker.io") return "docker.io";
  return key;
}

std::optional<RegistryCredentials> docker_cli_credentials(const std::string& registry) {
  const fs::path file = docker_config_file();
  if (file.empty()) return std::nullopt;
  std::ifstream in(file, std::ios::binary);
  if (!in) return std::nullopt;
  std::stringstream text;
  text << in.rdbuf();
  boost::system::error_code ec;
  const json::value document = json::parse(text.str(), ec);
  if (ec || !document.is_object())
    throw Error(Errc::config, "docker config '" + file.string() + "' is not valid JSON" +
                                  (ec ? ": " + ec.message() : std::string()));
  const json::value* auths = document.as_object().if_contains("auths");
  if (auths == nullptr || !auths->is_object()) return std::nullopt;
  for (const auto& [key, entry] : auths->as_object()) {
    if (registry_of_docker_key(std::string(key)) != registry || !entry.is_object()) continue;
    RegistryCredentials credentials;
    const json::object& object = entry.as_object();
    if (const json::value* token = object.if_contains("identitytoken"); token != nullptr && token->is_string())
      credentials.identity_token = std::string(token->as_string());
    if (const json::value* auth = object.if_contains("auth"); auth != nullptr && auth->is_string() &&
                                                              !auth->as_string().empty()) {
      std::string decoded;
      try {
        decoded = base64_decode(std::string_view(auth->as_string()));
      } catch (const Error&) {
        throw Error(Errc::config, "docker config '" + file.string() + "': the auth of '" + std::string(key) +
                                      "' is not base64");
      }
      const auto colon = decoded.find(':');
      if (colon == std::string::npos)
        throw Error(Errc::config, "docker config '" + file.string() + "': the auth of '" + std::string(key) +
                                      "' is not base64 of user:password");
      credentials.username = decoded.substr(0, colon);
      credentials.password = decoded.substr(colon + 1);
    }
    if (credentials.username.empty() && credentials.identity_token.empty()) return std::nullopt;
    return credentials;
  }
  return std::nullopt;
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
  return docker_cli_credentials(registry);
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
