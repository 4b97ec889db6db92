// Child processes of a backend that must not fork a threaded host: posix_spawn, an exact
// environment and set of fds, and a reaper; and the start time that tells a recorded pid from
// a reused one. Shared by the subcontainer's helper and the egress resolver (resolver_process).
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <filesystem>
#include <string>
#include <utility>
#include <vector>

namespace hutch::egress {

// A child that has done its part and only exits from now on: reaped (waited for) when this
// goes, not on the way of whoever started it.
class ExitingChild {
 public:
  ExitingChild() = default;
  explicit ExitingChild(pid_t pid) : pid_(pid) {}
  ExitingChild(ExitingChild&& other) noexcept : pid_(std::exchange(other.pid_, -1)) {}
  ExitingChild& operator=(ExitingChild&& other) noexcept;
  ~ExitingChild() { reap(); }
  // Waits for the child (once) and returns its wait status.
  int reap();

 private:
  pid_t pid_ = -1;
};

// Starts `executable` with `args` after argv[0] (the bare file name) and exactly `environment`
// ("NAME=value" entries; nothing of the host's own): posix_spawn (safe from the multi-threaded
// host), a session of its own, no signal blocked or ignored. The child's fd i is `fds[i]` (-1:
// /dev/null); nothing else of the host's survives the exec if it is close-on-exec. Errc::io
// (the errno's) prefixed with `what` when it cannot be started.
pid_t spawn_process(const std::filesystem::path& executable, const std::vector<std::string>& args,
                    const std::vector<std::string>& environment, const std::vector<int>& fds, const std::string& what);

// Start time of a process in clock ticks since boot, or 0 when it does not exist (or is a
// zombie).
std::uint64_t process_start_time(pid_t pid);

}  // namespace hutch::egress
