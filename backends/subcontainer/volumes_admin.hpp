// `hutch volume ls|rm` on the subcontainer backend: the named volumes in
// <state_dir>/subcontainer/volumes (volume mounts' sources and named workspaces), and which
// sandboxes use them, from their records.
#pragma once

#include "runtime.hpp"
#include "sandbox_record.hpp"

#include <hutch/types.hpp>

#include <string>
#include <vector>

namespace hutch::subcontainer {

// True when `record`'s sandbox mounts volume `name` (volume or pointer mount, named workspace).
bool uses_volume(const SandboxRecord& record, const std::string& name);

// Every volume directory, sorted by name, with the ids of the `records` that use it.
std::vector<VolumeInfo> list_volumes(const Runtime& runtime, const std::vector<SandboxRecord>& records);

// Removes volume `name` and its content. Errc::invalid_argument for a bad name, Errc::not_found
// when there is none, Errc::state naming the sandboxes among `records` that use it.
void remove_volume(const Runtime& runtime, const std::string& name, const std::vector<SandboxRecord>& records);

}  // namespace hutch::subcontainer
