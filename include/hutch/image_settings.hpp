// The [images] table: how every backend finds images in registries (see registry.hpp).
#pragma once

#include <hutch/export.hpp>

#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace hutch {

class ConfigTable;

// When a backend asks a registry (docker's `--pull`): only when the image is not stored,
// every time (a manifest request; unchanged layers are not downloaded again), or never.
enum class PullPolicy { missing, always, never };

struct RegistryCredentials {
  std::string username;
  std::string password;        // or a personal access token
  std::string identity_token;  // an OAuth2 refresh token (docker's identitytoken)
};

// The [images] table:
//   pull = "missing" | "always" | "never"
//   insecure_registries = ["host:port", ...]   plain HTTP (registries on 127.0.0.0/8,
//                                               localhost and ::1 are insecure anyway)
//   loopback_insecure = true                   registries on 127.0.0.0/8, localhost and ::1 are
//                                               insecure (as Docker has it); false: TLS there too
//   docker_config = true                       use the docker CLI's logins (config.json auths
//                                               and credential helpers)
//   [images.auth."HOST"] username, password | identity_token
struct HUTCH_API ImageSettings {
  PullPolicy pull = PullPolicy::missing;
  std::vector<std::string> insecure_registries;
  std::map<std::string, RegistryCredentials> auth;  // by registry host as written in names
  bool loopback_insecure = true;
  bool docker_config = true;

  // True when `registry` ("host[:port]") is reached over plain HTTP.
  bool is_insecure(const std::string& registry) const;
  // [images.auth."<registry>"], else (with docker_config) the docker CLI's login for it from
  // $DOCKER_CONFIG/config.json or ~/.docker/config.json, chosen as the CLI does: the
  // credential helper "credHelpers" names for the registry, else the "credsStore" helper, else
  // "auths" (base64 "auth" or "identitytoken"). A helper is run as `docker-credential-<name>
  // get` from PATH (no shell), the registry on its stdin, under a 60 s timeout; its answer is
  // never logged. nullopt: anonymous (also when the helper says it has no login for the
  // registry). Errc::config naming the file, or the helper and the registry, when the config
  // is malformed or a helper fails. Each call reads the file (and runs a helper) again: call
  // it once per pull.
  std::optional<RegistryCredentials> credentials_for(const std::string& registry) const;
};

// Reads and checks the table (unknown keys and bad values are Errc::config with file:line:col).
HUTCH_API ImageSettings read_image_settings(const ConfigTable& table);
HUTCH_API std::string_view to_string(PullPolicy policy) noexcept;

}  // namespace hutch
