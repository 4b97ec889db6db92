// A docker snapshot's /workspace. `docker commit` leaves volumes out, and a sandbox's
// /workspace is a volume (workspace.hpp), so a snapshot keeps its source's workspace in a volume
// of its own, `hutch-snapws-<snapshot id>` (labelled hutch.kind=snapshot-workspace and
// hutch.snapshot=<id>), and a restore copies it into the new sandbox's workspace. The copies go
// through the archive API: a volume is reached through a container that mounts it, made for the
// copy and never started (created from the snapshot's image, the volume mounted with NoCopy so
// the image's own /workspace never leaks in) and removed after it.
#pragma once

#include "context.hpp"

#include <string>

namespace hutch::docker {

inline constexpr const char* kSnapshotWorkspaceKind = "snapshot-workspace";
// On the volume: the snapshot it belongs to.
inline constexpr const char* kSnapshotOfVolumeLabel = "hutch.snapshot";

std::string snapshot_workspace_volume(const std::string& snapshot_id);

// Streams the tar of `from_path` in container `from` into directory `to_dir` of container `to`
// (GET then PUT /containers/ID/archive, chunk by chunk; nothing is held whole).
void copy_between_containers(Context& context, const std::string& from, const std::string& from_path,
                             const std::string& to, const std::string& to_dir, const std::string& what);

// Saves the /workspace of running sandbox `source` (committed as `image`) for `snapshot_id`.
// Whatever it made is removed again when it fails.
void save_snapshot_workspace(Context& context, const std::string& source, const std::string& image,
                             const std::string& snapshot_id);

// Copies the workspace saved for `snapshot_id` (taken as `image`) into `sandbox`'s /workspace.
// Returns false, copying nothing, for a snapshot without one (its source had no workspace
// volume, or it was taken by a hutch that did not save them).
bool restore_snapshot_workspace(Context& context, const std::string& image, const std::string& snapshot_id,
                                const std::string& sandbox);

// Removes the workspace volume of `snapshot_id`, if it has one.
void remove_snapshot_workspace(Context& context, const std::string& snapshot_id);

// Prune: the snapshot workspace volumes whose snapshot image is gone (a snapshot interrupted
// between its commit and its volume, a delete interrupted between the two), or every one with
// `all`; and the copy containers a crash left (kind=workspace-copy). Returns the volumes removed.
std::vector<std::string> prune_snapshot_workspaces(Context& context, bool all);

}  // namespace hutch::docker
