// Ownership of sandboxes, so `prune` can tell a leaked sandbox from one still in use.
// An owner is "<boot-id>:<pid>:<start-time>" of the creating process: a pid alone is reused,
// a pid plus its start time (from /proc/<pid>/stat) on the same boot is not.
#pragma once

#include <sbx/export.hpp>

#include <string>

namespace sbx {

// The owner string of the calling process.
SBX_API std::string current_owner();
// True when the process named by `owner` is still running on this machine's current boot.
// An unparsable owner, or one from another boot, is not alive.
SBX_API bool owner_alive(const std::string& owner);

}  // namespace sbx
