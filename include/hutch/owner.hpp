// Ownership of sandboxes, so `prune` can tell a leaked sandbox from one still in use.
// An owner is "<boot-id>:<pid>:<start-time>" of the creating process: a pid alone is reused,
// a pid plus its start time (from /proc/<pid>/stat) on the same boot is not.
#pragma once

#include <hutch/export.hpp>
#include <hutch/types.hpp>

#include <string>

namespace hutch {

// The owner recorded for a sandbox that belongs to no process (SandboxSpec::detached).
inline constexpr const char* kDetachedOwner = "detached";

// The owner string of the calling process.
HUTCH_API std::string current_owner();
// True when the process named by `owner` is still running on this machine's current boot.
// An unparsable owner, or one from another boot, is not alive.
HUTCH_API bool owner_alive(const std::string& owner);

// What a backend records as the hutch.owner of a new sandbox: kDetachedOwner for a detached
// spec, current_owner() otherwise.
HUTCH_API std::string owner_for(const SandboxSpec& spec);
// True when prune (without --all) should remove a sandbox recorded with `owner`: its creating
// process is gone. A detached sandbox is never orphaned; a missing or unparsable owner is.
HUTCH_API bool owner_gone(const std::string& owner);

}  // namespace hutch
