// Where an ephemeral sandbox (SandboxSpec::ephemeral: `hutch run`) keeps its directory: on a
// tmpfs, so that making and removing it costs no disk I/O. On an ext4 mounted with `discard`
// each directory removal waits for the disk (milliseconds each, five directories per sandbox),
// which alone cost more than a whole bubblewrap run.
//
// The sandbox's entry in the state dir is then a symlink to that directory, so every path
// (record, socket, upper layer, ...) and every later process (`hutch ls`, `hutch rm`, prune)
// reaches it as before. A reboot empties the tmpfs and leaves a dangling link, which prune
// removes.
//
// Run as root, each ephemeral sandbox's directory is a tmpfs of its own, `ephemeral_size`
// bytes (nosuid, nodev): a sandbox that fills its root gets ENOSPC instead of taking the
// host's RAM (/dev/shm is as large as RAM). An unprivileged user cannot mount in the host's
// mount namespace: rootless, the directory shares the tmpfs of ephemeral_dir, unbounded, and
// the backend says so (disk_limit_warnings).
#pragma once

#include "config.hpp"

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

namespace hutch::subcontainer {

// The directory for ephemeral sandboxes of this user, made if needed: the configured
// `ephemeral_dir`, or with "auto" the first tmpfs of $XDG_RUNTIME_DIR/hutch, /run/hutch and
// /dev/shm/hutch-<uid>. nullopt when there is none (ephemeral sandboxes then stay in the state
// dir) or when the directory is not a private one of ours (another user could have made it).
std::optional<std::filesystem::path> ephemeral_base(const BackendConfig& config);

// Mounts a tmpfs of `size` bytes on `dir` (an existing, empty directory), nosuid and nodev,
// whose root takes the directory's mode and owner. Needs root; call it before the sandbox's
// helper starts, so that the sandbox's mount namespace inherits the mount. `id` names the
// sandbox in errors (Errc::io).
void mount_ephemeral_tmpfs(const std::filesystem::path& dir, std::uint64_t size, const std::string& id);

// Removes a sandbox directory: the tree the symlink points to and the link itself for an
// ephemeral sandbox, else the tree. The tmpfs of an ephemeral sandbox is unmounted first
// (detached: a process still inside cannot keep the directory from going). A missing one is
// not an error; Errc::io otherwise.
void remove_sandbox_dir(const std::filesystem::path& dir);

// True when `dir` is a symlink whose target is gone (its tmpfs was emptied by a reboot).
bool dangling_sandbox_link(const std::filesystem::path& dir);

// What this configuration does not bound, for `hutch backends` (empty when all is bounded):
// an ephemeral sandbox's directory without a tmpfs of its own (rootless, ephemeral_size = 0),
// and the writable layer of a created sandbox on the state dir's filesystem.
std::vector<std::string> disk_limit_warnings(const BackendConfig& config, bool rootless);

}  // namespace hutch::subcontainer
