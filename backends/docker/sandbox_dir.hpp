// The host-side directory of one docker sandbox, <state_dir>/docker/<id>/: the agent's socket
// (sandbox_agent.hpp) and the sandbox's activity marker, whose mtime is its last exec or Fs
// call, for idle_timeout (as the subcontainer backend uses its record's mtime).
#pragma once

#include "config.hpp"
#include "context.hpp"

#include <chrono>
#include <filesystem>
#include <optional>
#include <string>

namespace sbx::docker {

// <state_dir>/docker, or <default state dir>/docker when the config names none.
std::filesystem::path docker_state_dir(const DockerConfig& config);

// Makes <state_dir>/<id> with its parent 0700, so other host users cannot reach what is in
// it. `open_to_agent`: the directory itself is 0777, because the agent is root in the
// container but without CAP_DAC_OVERRIDE and must create its socket in a directory owned by
// the host user; else 0700. Starts the activity clock.
std::filesystem::path make_sandbox_dir(const std::filesystem::path& state_dir, const std::string& id, bool open_to_agent);

// Removes `dir`, the directory of sandbox `id` (from our state dir or a label); missing is
// fine. A path that is not "<some state dir>/docker/<id>" is left alone (a label is not
// trusted to name what to delete). Errors are logged, not thrown.
void remove_sandbox_dir(Context& context, const std::string& id, const std::filesystem::path& dir);

// Marks the sandbox as used now. Best effort: a sandbox made elsewhere may have no directory.
void record_activity(const std::filesystem::path& dir);

// When the sandbox was last used, or nullopt when nothing was recorded.
std::optional<std::chrono::system_clock::time_point> last_activity(const std::filesystem::path& dir);

}  // namespace sbx::docker
