// Registry logins as the docker CLI finds them in its config.json. Internal to libhutch
// (ImageSettings::credentials_for).
#pragma once

#include <hutch/image_settings.hpp>

#include <optional>
#include <string>

namespace hutch::detail {

// The docker CLI's login for `registry` ("host[:port]", "docker.io" for Docker Hub) from
// $DOCKER_CONFIG/config.json, else ~/.docker/config.json, chosen as the CLI chooses: the
// helper that "credHelpers" names for the registry, else the "credsStore" helper, else the
// "auths" entry (base64 "auth" of user:password, or "identitytoken"). A helper runs through
// run_docker_credential_helper; when it has no login for the registry the answer is nullopt
// (anonymous), as with the CLI, whatever "auths" holds. nullopt too without a config file.
// Errc::config naming the file for a malformed file, naming the helper and registry when a
// helper fails.
std::optional<RegistryCredentials> docker_cli_credentials(const std::string& registry);

}  // namespace hutch::detail
