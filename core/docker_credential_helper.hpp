// The docker credential helper protocol (github.com/docker/docker-credential-helpers), client
// side: how the docker CLI asks `docker-credential-<suffix>` for a registry's login. Internal to
// libhutch (image_settings.cpp); the unit tests compile it in to try its timeout.
#pragma once

#include <hutch/image_settings.hpp>

#include <chrono>
#include <optional>
#include <string>

namespace hutch::detail {

// How long a helper may take: some ask a keyring that prompts for its passphrase, or a cloud
// service for a token, so this is generous; the docker CLI waits without limit.
inline constexpr std::chrono::milliseconds kCredentialHelperTimeout{60'000};

// True for a suffix a helper's program name may have ([A-Za-z0-9._-]+, not "." or ".."): the
// name is looked up on PATH and must never be a path.
bool is_credential_helper_suffix(const std::string& suffix);

// Runs `docker-credential-<suffix> get` (found on PATH, no shell: argv only, the caller's
// environment) with `server` on its stdin and its stderr on /dev/null, and reads the
// {"ServerURL","Username","Secret"} JSON it prints. Username "<token>" means Secret is an
// identity token. nullopt when the helper answers "credentials not found in native keychain"
// (as the docker CLI, that is: no credentials) or gives an empty username and secret.
// Errc::config naming the helper and `registry` when it cannot be started, fails, prints
// something else or takes longer than `timeout` (then it is killed). Nothing the helper prints
// is logged or put into an error message: on success it is the secret, and a failing helper
// may print it too.
std::optional<RegistryCredentials> run_docker_credential_helper(const std::string& suffix, const std::string& server,
                                                                const std::string& registry,
                                                                std::chrono::milliseconds timeout = kCredentialHelperTimeout);

}  // namespace hutch::detail
