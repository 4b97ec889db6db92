// A process of a sandbox's that runs on the host beside it (the port forwarder, pasta), not a
// child of any hutch process: started through a small program that forks it, reports on a pipe
// and exits; owned by an OwnedProcess while a call works with it, and by the sandbox's record
// (its pid and start time) in between, so that stop, destroy and prune of any later process
// end it.
#pragma once

#include "unique_fd.hpp"

#include <hutch/error.hpp>

#include <sys/types.h>

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

namespace hutch::subcontainer::network {

// Owns a running process: ends it (SIGKILL through its pidfd) and waits until it is gone when
// destroyed, unless released to the record first. Move-only.
class OwnedProcess {
 public:
  OwnedProcess() = default;
  // Runs `program` with `args` and the child fds `fds` (helper_launch.hpp, spawn_helper); it
  // must write one line on fd 1 and exit: "OK <pid>" once the process <pid> does its work,
  // "ERR <why>" when it could not start it. Returns that process, owned. Errc::backend naming
  // sandbox `id` and `what` ("the port forwarder") when it does not start, its reason
  // included, or does not answer within 10 s.
  static OwnedProcess start(const std::filesystem::path& program, const std::vector<std::string>& args,
                            std::vector<int> fds, const std::string& id, const std::string& what);
  // The process a record names: owned again, to be ended. Empty when that process is gone
  // (or its pid is another process's by now: `start_time` differs).
  static OwnedProcess adopt(pid_t pid, std::uint64_t start_time);

  OwnedProcess(OwnedProcess&& other) noexcept;
  OwnedProcess& operator=(OwnedProcess&& other) noexcept;
  ~OwnedProcess();

  pid_t pid() const { return pid_; }
  std::uint64_t start_time() const { return start_time_; }
  // Leaves it running: from now on the record (pid(), start_time()) owns it.
  void release() noexcept;

 private:
  void end() noexcept;

  pid_t pid_ = 0;
  std::uint64_t start_time_ = 0;
  UniqueFd pidfd_;
};

// Runs `program` as OwnedProcess::start does and returns the first line it reports, once it
// has exited; for a program that does its work and exits ("OK ..." or "ERR <why>").
// Errc::backend naming sandbox `id` and `what` when it does not answer within 10 s.
std::string run_and_read_report(const std::filesystem::path& program, const std::vector<std::string>& args,
                                std::vector<int> fds, const std::string& id, const std::string& what);
// The error for a report line that is not "OK ...": Errc::backend naming sandbox `id` and
// `what`, with the program's own reason.
Error report_failure(const std::string& line, const std::string& id, const std::string& what);

// Whether the process of that pid and start time still runs.
bool owned_process_alive(pid_t pid, std::uint64_t start_time);

// A pidfd of `pid` (empty with errno set when it cannot be opened).
UniqueFd open_pidfd(pid_t pid);

}  // namespace hutch::subcontainer::network
