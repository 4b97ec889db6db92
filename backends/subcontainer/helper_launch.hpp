// Starts the helper (posix_spawn: safe from the multi-threaded host) ahead of its plan, and
// waits until the sandbox is ready or failed.
#pragma once

#include "child_process.hpp"
#include "unique_fd.hpp"

#include <sys/types.h>

#include <filesystem>
#include <functional>
#include <string>
#include <utility>
#include <vector>

namespace hutch::subcontainer {

using egress::ExitingChild;

// Starts `helper` (spawn_process, egress/child_process.hpp). `id` names the sandbox in errors:
// Errc::backend when the helper is not executable or cannot be started.
pid_t spawn_helper(const std::filesystem::path& helper, const std::vector<std::string>& args,
                   const std::vector<std::string>& environment, const std::vector<int>& fds, const std::string& id);

struct StartedSandbox {
  pid_t leader = -1;
  ExitingChild helper;  // the helper process, which exits once the leader is in its cgroups
};

// The helper, started before its plan is written: its exec and start-up (over a millisecond
// for any process on a VM where page faults and cpuid trap) overlap the host's preparations.
// It waits for one byte on its stdin before it reads `plan`; EOF (this dropped unstarted, as
// when the create fails first) makes it exit at once.
class PendingHelper {
 public:
  // Errc::backend when the helper cannot be started.
  PendingHelper(const std::filesystem::path& helper, const std::filesystem::path& plan, std::string id);
  PendingHelper(const PendingHelper&) = delete;
  PendingHelper& operator=(const PendingHelper&) = delete;
  ~PendingHelper() = default;  // unstarted: its stdin closes first, then it is reaped

  // The plan is written: returns the leader's host pid as soon as the leader reports that the
  // sandbox is ready. `on_leader` gets that pid as soon as it is known, long before, so that
  // the caller's bookkeeping overlaps the sandbox's setup; if it throws, the leader is killed
  // and the exception passes on. Errc::backend with the first reported cause on failure.
  StartedSandbox start(const std::function<void(pid_t leader)>& on_leader);

 private:
  std::string id_;
  ExitingChild child_;  // declared first: reaped last, after the pipes below have closed
  UniqueFd go_, out_, err_;
};

}  // namespace hutch::subcontainer
