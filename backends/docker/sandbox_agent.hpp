// The exec fast path: hutch-agent (core/agent) as PID 1 of a sandbox container, reached over a
// unix socket in a per-sandbox host directory, instead of one Docker exec per command.
//
// What such a container gets, beyond what every sandbox gets (CapDrop ALL + cap_add,
// no-new-privileges, seccomp):
//   - /.hutch/agent: the static hutch-agent binary, bind-mounted read-only; it is the entrypoint
//     (no docker-init, no shell loop) and runs as 0:0 so that it can switch users per command;
//   - /.hutch/run: the host directory <state_dir>/docker/<id>/run/ (<id>/ and its parent are
//     0700, so other host users cannot reach the socket), where the agent listens on
//     agent.sock; the rest of <id>/ stays out of the container (sandbox_dir.hpp);
//   - without a configured seccomp_profile, hutch's default seccomp filter for every command, on
//     top of Docker's default profile;
//   - CAP_SETUID, CAP_SETGID (per-command user switching), CAP_SETPCAP (to drop the bounding
//     set of commands) and CAP_KILL (its shepherds run with another real uid than root's, so that
//     root in the container cannot stop them without CAP_KILL; they must still signal commands
//     of any user) added to the container. The agent gives commands only the configured
//     cap_add set, with no_new_privs, so a command has exactly what it would have through the
//     exec API.
// The agent serves only clients outside the container's pid namespace, and the host sends a
// command only after checking (SO_PEERCRED) that the container's PID 1 is the listener, so a
// sandboxed process can neither use the agent nor impersonate it.
#pragma once

#include "config.hpp"
#include "context.hpp"

#include "agent/lifetime_client.hpp"
#include "engine/endpoint.hpp"

#include <sys/types.h>

#include <filesystem>
#include <optional>
#include <string>
#include <vector>

namespace hutch::docker {

inline constexpr const char* kAgentInContainer = "/.hutch/agent";
inline constexpr const char* kAgentRunDirInContainer = "/.hutch/run";
inline constexpr const char* kAgentSocketName = "agent.sock";
// In the run dir: why the agent ended the sandbox when a lifetime passed (agent/lifetime.hpp).
inline constexpr const char* kAgentExpiryName = "expired";

// The capabilities the agent needs itself, added to the container's cap_add.
extern const std::vector<std::string> kAgentCapabilities;

// The hutch-agent binary to use, or nullopt for the exec API. "auto" uses the agent when the
// endpoint is a unix socket (the daemon on this host) and the binary exists; "on" without
// either is Errc::config.
std::optional<std::filesystem::path> choose_agent_binary(const DockerConfig& config, const Endpoint& endpoint);

// The container's entrypoint: hutch-agent serve with the default user and the capability numbers
// commands keep (from cap_add; Errc::invalid_argument for a name libcap does not know).
// `seccomp`: the agent also confines commands with hutch's default seccomp filter, stacked on
// the container's profile (Docker's default lets io_uring and vsock sockets through); off when
// the configuration names its own profile, which then decides alone. `stop_grace`: on docker
// stop, SIGTERM to every process, SIGKILL this long after. `lifetime`: what the agent enforces
// until the host sends it others (it records an expiry in the run dir's kAgentExpiryName).
std::vector<std::string> agent_entrypoint(const std::string& default_user, const std::vector<std::string>& cap_add,
                                          bool seccomp, Duration stop_grace, const agent::LifetimeSettings& lifetime);

// Waits until the agent of container `id` listens in `dir`, at most the request timeout;
// Errc::backend with the container's state when it does not come up.
void wait_for_agent(Context& context, const std::string& id, const std::filesystem::path& dir);

// Runs the agent's no-op as `user` through the agent, so that a user the sandbox does not know
// fails the create (as it does when Docker starts a container as that user) instead of every
// later command. Errc::invalid_argument with the agent's message.
void check_agent_user(Context& context, const std::string& id, const std::filesystem::path& dir,
                      const std::string& user);

}  // namespace hutch::docker
