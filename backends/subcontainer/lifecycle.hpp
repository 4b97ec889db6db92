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

// A new random sandbox id (12 hex digits).
std::string new_sandbox_id();

}  // namespace hutch::subcontainer
