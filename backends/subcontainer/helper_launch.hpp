// Starts the helper (posix_spawn: safe from the multi-threaded host) and waits until the
// sandbox is ready or failed.
#pragma once

#include <sys/types.h>

#include <filesystem>
#include <string>

namespace sbx::subcontainer {

// Returns the leader's host pid. Errc::backend with the helper's message on failure.
pid_t run_helper(const std::filesystem::path& helper, const std::filesystem::path& plan, const std::string& id);

}  // namespace sbx::subcontainer
