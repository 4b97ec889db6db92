// The host-side directory of one docker sandbox, <state_dir>/docker/<id>/ (0700, never
// mounted, so the sandbox cannot reach it):
//   lifetime         "<ttl deadline unix ms> <idle timeout ms>": the lifetimes as they are now
//                    (from the spec at create, changed by Handle::set_lifetime), which the
//                    agent enforces and prune applies; docker labels cannot change;
//   stopped          present while the sandbox is stopped on purpose (Handle::stop): resume
//                    leaves it stopped, where it starts a container that stopped otherwise;
//   activity         the marker whose mtime is the last exec or Fs call, for idle_timeout (as
//                    the subcontainer backend uses its record's mtime);
//   main.log, main.log.1, main.status   the main command's files (launch; agent/main_command_files.hpp);
//   run/             with the agent: bind-mounted at /.hutch/run, where the agent listens on
//                    agent.sock (sandbox_agent.hpp). The only part the sandbox sees.
// Sandboxes made before run/ existed had the whole directory mounted: their label hutch.agent-dir
// names <id>/ itself, which still serves commands but not launch (whose files must stay out
// of the sandbox's reach).
#pragma once

#include "config.hpp"
#include "context.hpp"

#include "agent/lifetime_client.hpp"

#include <chrono>
#include <filesystem>
#include <optional>
#include <string>

namespace hutch::docker {

// <state_dir>/docker, or <default state dir>/docker when the config names none.
std::filesystem::path docker_state_dir(const DockerConfig& config);

// Makes <state_dir>/<id> and its parent 0700, so other host users cannot reach what is in
// them, and starts the activity clock. `open_to_agent`: also run/, 0777, because the agent is
// root in the container but without CAP_DAC_OVERRIDE and must create its socket in a
// directory owned by the host user. Returns <state_dir>/<id>.
std::filesystem::path make_sandbox_dir(const std::filesystem::path& state_dir, const std::string& id, bool open_to_agent);

// <sandbox dir>/run: the part mounted into the container.
std::filesystem::path agent_run_dir(const std::filesystem::path& sandbox_dir);

// The host-only sandbox directory of a sandbox whose agent directory (label hutch.agent-dir) is
// `agent_dir`: its parent for the current layout (<id>/run), nullopt for the old one (<id>
// itself, visible inside the container).
std::optional<std::filesystem::path> host_only_dir(const std::string& id, const std::filesystem::path& agent_dir);

// Removes `dir`, the directory of sandbox `id` (from our state dir or a label); missing is
// fine. A path that is not "<some state dir>/docker/<id>" is left alone (a label is not
// trusted to name what to delete). Errors are logged, not thrown.
void remove_sandbox_dir(Context& context, const std::string& id, const std::filesystem::path& dir);

// Marks the sandbox as used now. Best effort: a sandbox made elsewhere may have no directory.
void record_activity(const std::filesystem::path& dir);

// Records whether the sandbox is stopped on purpose (Handle::stop) or not (Handle::start).
// Errc::io naming the sandbox when the marker cannot be written.
void mark_stopped(const std::filesystem::path& dir, const std::string& id, bool stopped);
bool stopped_on_purpose(const std::filesystem::path& dir);

// The lifetimes in <dir>/lifetime; nullopt when the file is missing or unreadable.
std::optional<agent::LifetimeSettings> read_lifetime(const std::filesystem::path& dir);
// Replaces them; Errc::io naming the sandbox when the file cannot be written.
void write_lifetime(const std::filesystem::path& dir, const std::string& id, const agent::LifetimeSettings& lifetime);

// Whether the agent ended the sandbox when a lifetime passed: run/expired holds why.
bool expired_by_agent(const std::filesystem::path& dir);
// The same, given the agent's run dir (agent_run_dir) itself.
bool expiry_in_run_dir(const std::filesystem::path& run_dir);
// Removes that record (before the sandbox starts again).
void clear_expiry(const std::filesystem::path& dir);

// When the sandbox was last used, or nullopt when nothing was recorded.
std::optional<std::chrono::system_clock::time_point> last_activity(const std::filesystem::path& dir);

}  // namespace hutch::docker
