// Where an ephemeral sandbox (SandboxSpec::ephemeral: `hutch run`) keeps its directory: on a
// tmpfs, so that making and removing it costs no disk I/O. On an ext4 mounted with `discard`
// each directory removal waits for the disk (milliseconds each, five directories per sandbox),
// which alone cost more than a whole bubblewrap run.
//
// The sandbox's entry in the state dir is then a symlink to that directory, so every path
// (record, socket, upper layer, ...) and every later process (`hutch ls`, `hutch rm`, prune)
// reaches it as before. A reboot empties the tmpfs and leaves a dangling link, which prune
// removes.
#pragma once

#include "config.hpp"

#include <filesystem>
#include <optional>

namespace hutch::subcontainer {

// The directory for ephemeral sandboxes of this user, made if needed: the configured
// `ephemeral_dir`, or with "auto" the first tmpfs of $XDG_RUNTIME_DIR/hutch, /run/hutch and
// /dev/shm/hutch-<uid>. nullopt when there is none (ephemeral sandboxes then stay in the state
// dir) or when the directory is not a private one of ours (another user could have made it).
std::optional<std::filesystem::path> ephemeral_base(const BackendConfig& config);

// Removes a sandbox directory: the tree the symlink points to and the link itself for an
// ephemeral sandbox, else the tree. A missing one is not an error; Errc::io otherwise.
void remove_sandbox_dir(const std::filesystem::path& dir);

// True when `dir` is a symlink whose target is gone (its tmpfs was emptied by a reboot).
bool dangling_sandbox_link(const std::filesystem::path& dir);

}  // namespace hutch::subcontainer
