// AutoPause: E2B's `lifecycle.onTimeout = "pause"` (the API's autoPause). A sandbox created so
// reaches its timeout paused, not ended, and `Sandbox.connect` (or, with autoResume, any envd or
// port request) makes it run again. The backends' own ttl ends a sandbox, so such a sandbox gets
// none from E2B's timeout; this keeps its deadline instead and calls `on_deadline` then.
//
// The deadlines live in memory. After a restart of the service a running auto-pause sandbox
// gets a whole timeout again from the service's start (E2b::make re-arms them from their
// labels): it may run longer than asked, never shorter, and is never ended by it.
//
// All methods may be called from any thread; `on_deadline` runs on the class's own thread.
#pragma once

#include <chrono>
#include <condition_variable>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <thread>

namespace hutch::server::e2b {

class AutoPause {
 public:
  using Clock = std::chrono::system_clock;
  using OnDeadline = std::function<void(const std::string& sandbox_id)>;

  explicit AutoPause(OnDeadline on_deadline);
  // Ends the thread; a call of on_deadline in progress finishes first.
  ~AutoPause();
  AutoPause(const AutoPause&) = delete;
  AutoPause& operator=(const AutoPause&) = delete;

  // The sandbox is paused at `deadline` (replacing an earlier one; one already passed: at once).
  void arm(const std::string& sandbox_id, Clock::time_point deadline);
  // Its deadline, if one is armed (the sandbox runs and has not reached it).
  std::optional<Clock::time_point> deadline(const std::string& sandbox_id) const;
  // No deadline for the sandbox any more (removed, or paused by hand).
  void disarm(const std::string& sandbox_id);

 private:
  void run();

  OnDeadline on_deadline_;
  mutable std::mutex mutex_;
  std::condition_variable wake_;
  std::map<std::string, Clock::time_point> deadlines_;
  bool stopping_ = false;
  std::thread thread_;  // last: started once everything above exists
};

}  // namespace hutch::server::e2b
