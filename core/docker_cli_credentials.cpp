// The docker CLI's logins; see docker_cli_credentials.hpp.
#include "docker_cli_credentials.hpp"

#include "docker_credential_helper.hpp"

#include <hutch/base64.hpp>
#include <hutch/error.hpp>

#include <boost/json.hpp>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

namespace hutch::detail {

namespace {

namespace fs = std::filesystem;
namespace json = boost::json;

// Where the docker CLI sends and stores Docker Hub's logins.
constexpr const char* kDockerHubServer = "https://index.docker.io/v1/";

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

std::optional<RegistryCredentials> from_auths_entry(const json::object& entry, const std::string& key,
                                                    const fs::path& file) {
  RegistryCredentials credentials;
  if (const json::value* token = entry.if_contains("identitytoken"); token != nullptr && token->is_string())
    credentials.identity_token = std::string(token->as_string());
  if (const json::value* auth = entry.if_contains("auth");
      auth != nullptr && auth->is_string() && !auth->as_string().empty()) {
    std::string decoded;
    try {
      decoded = base64_decode(std::string_view(auth->as_string()));
    } catch (const Error&) {
      throw Error(Errc::config, "docker config '" + file.string() + "': the auth of '" + key + "' is not base64");
    }
    const auto colon = decoded.find(':');
    if (colon == std::string::npos)
      throw Error(Errc::config, "docker config '" + file.string() + "': the auth of '" + key +
                                    "' is not base64 of user:password");
    credentials.username = decoded.substr(0, colon);
    credentials.password = decoded.substr(colon + 1);
  }
  if (credentials.username.empty() && credentials.identity_token.empty()) return std::nullopt;
  return credentials;
}

// The helper suffix the config names for `registry`: credHelpers' entry for it, else
// credsStore; empty when neither applies.
std::string helper_for(const json::object& document, const std::string& registry, const fs::path& file) {
  std::string suffix;
  std::string where;
  if (const json::value* helpers = document.if_contains("credHelpers"); helpers != nullptr && helpers->is_object())
    for (const auto& [key, value] : helpers->as_object())
      if (registry_of_docker_key(std::string(key)) == registry) {
        if (!value.is_string())
          throw Error(Errc::config, "docker config '" + file.string() + "': credHelpers.\"" + std::string(key) +
                                        "\" is not a string");
        suffix = std::string(value.as_string());
        where = "credHelpers.\"" + std::string(key) + "\"";
      }
  if (where.empty())
    if (const json::value* store = document.if_contains("credsStore"); store != nullptr) {
      if (!store->is_string())
        throw Error(Errc::config, "docker config '" + file.string() + "': credsStore is not a string");
      suffix = std::string(store->as_string());
      where = "credsStore";
    }
  if (!where.empty() && !suffix.empty() && !is_credential_helper_suffix(suffix))
    throw Error(Errc::config, "docker config '" + file.string() + "': " + where + " names the credential helper '" +
                                  suffix + "', which is not a plain name ([A-Za-z0-9._-]); hutch runs docker-credential-"
                                  "<name> from PATH only");
  return suffix;
}

}  // namespace

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
  const json::object& top = document.as_object();
  if (const std::string helper = helper_for(top, registry, file); !helper.empty())
    return run_docker_credential_helper(helper, registry == "docker.io" ? kDockerHubServer : registry, registry);
  const json::value* auths = top.if_contains("auths");
  if (auths == nullptr || !auths->is_object()) return std::nullopt;
  for (const auto& [key, entry] : auths->as_object())
    if (registry_of_docker_key(std::string(key)) == registry && entry.is_object())
      return from_auths_entry(entry.as_object(), std::string(key), file);
  return std::nullopt;
}

}  // namespace hutch::detail
