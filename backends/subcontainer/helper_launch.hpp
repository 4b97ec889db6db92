// Starts the helper (posix_spawn: safe from the multi-threaded host) and waits until the
// sandbox is ready or failed.
#pragma once

#include <sys/types.h>

#include <filesystem>
#include <string>
#include <utility>

namespace sbx::subcontainer {

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

struct StartedSandbox {
  pid_t leader = -1;
  ExitingChild helper;  // the helper process, which exits right after it reported the leader
};

// Returns the leader's host pid as soon as the helper has reported it. Errc::backend with the
// helper's message on failure.
StartedSandbox run_helper(const std::filesystem::path& helper, const std::filesystem::path& plan,
                          const std::string& id);

}  // namespace sbx::subcontainer
