// Capability dropping for sandboxed commands: everything not in the kept set leaves the
// bounding, inheritable, permitted, effective and ambient sets.
#pragma once

#include <vector>

namespace hutch::agent {

// Drops the bounding set to `keep` (call before changing uid). -1/errno on error.
int drop_bounding_set(const std::vector<int>& keep);
// Limits permitted/effective/inheritable to `keep` and clears ambient. -1/errno on error.
int limit_capabilities(const std::vector<int>& keep);

}  // namespace hutch::agent
