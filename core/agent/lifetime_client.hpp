// The host's side of the sandbox's lifetimes (lifetime.hpp): it hands them to the sandbox's
// agent, and tells the agent about activity the agent cannot see (file operations).
#pragma once

#include <sys/types.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <string>

namespace hutch::agent {

// What the agent enforces: a ttl deadline (unix ms) and an idle timeout (ms); 0: none.
struct LifetimeSettings {
  std::int64_t ttl_deadline_ms = 0;
  std::int64_t idle_timeout_ms = 0;
  bool any() const { return ttl_deadline_ms != 0 || idle_timeout_ms != 0; }
};

// Sends `settings` to the agent on `socket` and waits for its answer (a round trip).
// Errors as send_request's (control_client.hpp).
void send_lifetime(const std::filesystem::path& socket, const std::string& sandbox_id, const LifetimeSettings& settings,
                   pid_t agent_pid = 0);

// Tells the agent that the host used the sandbox, for its idle timeout: at most once per
// kTouchInterval per object, without waiting for an answer (no round trip on the caller's
// path). Best effort: an agent that is gone or busy is not an error.
class ActivityTouch {
 public:
  static constexpr std::chrono::milliseconds kTouchInterval{1000};
  void touch(const std::filesystem::path& socket, const std::string& sandbox_id, pid_t agent_pid = 0);

 private:
  std::atomic<std::int64_t> last_ms_{0};
};

}  // namespace hutch::agent
