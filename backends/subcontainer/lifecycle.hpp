// Creating and destroying sandboxes: the steps in order, and their undo.
#pragma once

#include "handle.hpp"
#include "runtime.hpp"

#include <functional>
#include <memory>
#include <string>

namespace hutch::subcontainer {

// Fills `upper` (which does not exist yet) with a starting upper layer: fork. Its files must
// belong to `ids`, the new sandbox's host ids (id_ranges.hpp).
using UpperSeed = std::function<void(const std::filesystem::path& upper, const IdRange& ids)>;

// Creates and starts a sandbox. On failure everything made so far is removed again.
std::shared_ptr<SubcontainerHandle> create_sandbox(const std::shared_ptr<Runtime>& runtime, SandboxSpec spec,
                                                   const UpperSeed& seed = {});

// Kills the sandbox's processes, removes its cgroup and its directory, then frees its id
// range. Idempotent.
void destroy_sandbox(const Runtime& runtime, const std::string& id);

// The sandbox's SIGTERM-to-SIGKILL grace: its spec's, else the backend's default.
Duration stop_grace(const Runtime& runtime, const SandboxSpec& spec);

// Ends the recorded leader and with it every process of the sandbox: SIGTERM to the leader,
// which stops them gracefully (agent/sandbox_stop.hpp), then SIGKILL if it has not exited
// shortly after `grace` (0: SIGKILL at once). Returns once the leader is gone.
void stop_leader(const SandboxRecord& record, Duration grace);

// Handle::stop: stops every process gracefully (stop_leader) and removes the cgroup; the
// sandbox's files stay. `record` is updated (stopped, no cgroup) and saved.
void stop_sandbox(const Runtime& runtime, SandboxRecord& record);

// A sandbox whose leader has ended by itself (its lifetimes, or a crash) still has its cgroup,
// which keeps the memory charged to it (the page cache of its files) until it is removed: this
// removes it and saves the record, under the record's lock. Nothing for a running, stopped or
// still-starting sandbox. Called where the state is looked at (info, list), so an expired
// sandbox holds no memory once anyone has seen it, without waiting for prune.
void release_cgroup_of_ended(const Runtime& runtime, const std::string& id);

// Handle::start: a new cgroup and a new leader on the sandbox's plan and files. `record` is
// updated (leader, cgroup) and saved. Does nothing when the leader runs. On failure the
// sandbox is left stopped. Returns the helper process, which exits by itself.
ExitingChild start_sandbox(const Runtime& runtime, SandboxRecord& record);

// Writes the record's lifetimes into the sandbox's plan, for the leader of its next start.
void write_plan_lifetime(const std::filesystem::path& plan, const SandboxRecord& record);

// A new random sandbox id (12 hex digits).
std::string new_sandbox_id();

}  // namespace hutch::subcontainer
