// The sandbox's lifetimes, held by the sandbox's PID 1 (the leader, or hutch-agent in a
// container) so that a sandbox ends on time with no host process left to watch it:
//  - ttl: a deadline (unix ms), from the creation, or set anew by the host (`hutch update
//    --ttl`, as E2B's setTimeout);
//  - idle timeout: how long no host call may be in progress or made before the sandbox ends.
//    A host call is a request on the control socket: a command (from its start to its end,
//    so a long command keeps the sandbox alive), a spawn with its streams attached, and the
//    "touch" the host sends for file operations (which do not pass through the agent). The
//    main command (launch) does not count: a service sandbox would never be idle.
// At expiry PID 1 records why in its expiry file (the host lists the sandbox as `expired`)
// and stops the sandbox gracefully (sandbox_stop.hpp). Internal to the agent.
#pragma once

#include "wire.hpp"

#include <sys/types.h>

#include <cstdint>

namespace hutch::agent {

class Lifetime {
 public:
  // 0: none. Replaces what was set; counts as activity.
  void set(std::int64_t ttl_deadline_unix_ms, std::int64_t idle_timeout_ms);
  // The number of host calls in progress changed (a shepherd took a request, or finished it).
  void calls_in_progress(std::size_t count);
  // "ttl" or "idle" once a lifetime has passed, else nullptr.
  const char* expired() const;
  // How long PID 1 may sleep before expired() can change on its own; -1: until an event.
  int poll_timeout_ms() const;

 private:
  std::int64_t ttl_deadline_unix_ms_ = 0;
  std::int64_t idle_timeout_ms_ = 0;
  std::size_t calls_ = 0;
  std::int64_t last_activity_ms_ = 0;  // monotonic
};

// Writes why the sandbox expired ("ttl" or "idle") and when (unix ms) to `fd` (-1: nowhere),
// where the host reads it (the sandbox is then listed `expired`).
void record_expiry(int fd, const char* why);

// A shepherd's part of a lifetime request or a touch (wire.hpp): passes a lifetime on to the
// leader on `notice_fd`, and answers "X 0" on `conn`.
void serve_control_request(int conn, const wire::ExecMessage& message, int notice_fd);

}  // namespace hutch::agent
