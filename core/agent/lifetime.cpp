#include "lifetime.hpp"

#include "shepherd_notice.hpp"

#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <ctime>
#include <string>

namespace hutch::agent {
namespace {

std::int64_t clock_ms(clockid_t clock) {
  timespec now{};
  ::clock_gettime(clock, &now);
  return static_cast<std::int64_t>(now.tv_sec) * 1000 + now.tv_nsec / 1000000;
}

// The ttl may be far off; PID 1 still looks again this often (a wall clock set forward, say).
constexpr std::int64_t kLongestWaitMs = 60'000;

}  // namespace

void Lifetime::set(std::int64_t ttl_deadline_unix_ms, std::int64_t idle_timeout_ms) {
  ttl_deadline_unix_ms_ = std::max<std::int64_t>(0, ttl_deadline_unix_ms);
  idle_timeout_ms_ = std::max<std::int64_t>(0, idle_timeout_ms);
  last_activity_ms_ = clock_ms(CLOCK_MONOTONIC);
}

void Lifetime::calls_in_progress(std::size_t count) {
  calls_ = count;
  last_activity_ms_ = clock_ms(CLOCK_MONOTONIC);
}

const char* Lifetime::expired() const {
  if (ttl_deadline_unix_ms_ != 0 && clock_ms(CLOCK_REALTIME) >= ttl_deadline_unix_ms_) return "ttl";
  if (idle_timeout_ms_ != 0 && calls_ == 0 && clock_ms(CLOCK_MONOTONIC) - last_activity_ms_ >= idle_timeout_ms_)
    return "idle";
  return nullptr;
}

int Lifetime::poll_timeout_ms() const {
  std::int64_t wait = -1;
  auto consider = [&](std::int64_t left) { wait = wait < 0 ? left : std::min(wait, left); };
  if (ttl_deadline_unix_ms_ != 0) consider(ttl_deadline_unix_ms_ - clock_ms(CLOCK_REALTIME));
  if (idle_timeout_ms_ != 0 && calls_ == 0)
    consider(last_activity_ms_ + idle_timeout_ms_ - clock_ms(CLOCK_MONOTONIC));
  if (wait < 0 && (ttl_deadline_unix_ms_ != 0 || (idle_timeout_ms_ != 0 && calls_ == 0))) return 0;
  return wait < 0 ? -1 : static_cast<int>(std::min(wait + 1, kLongestWaitMs));
}

void record_expiry(int fd, const char* why) {
  if (fd < 0) return;
  const std::string line = std::string(why) + " " + std::to_string(clock_ms(CLOCK_REALTIME)) + "\n";
  (void)!::pwrite(fd, line.data(), line.size(), 0);
}

void serve_control_request(int conn, const wire::ExecMessage& message, int notice_fd) {
  if (message.lifetime) {
    ShepherdNotice notice{::getpid(), ShepherdNotice::Kind::lifetime};
    notice.ttl_deadline_ms = message.ttl_deadline_ms;
    notice.idle_timeout_ms = message.idle_timeout_ms;
    (void)!::write(notice_fd, &notice, sizeof notice);
  }
  // Free again before the answer goes out, as after a command (leader.cpp's serve_exec).
  ShepherdNotice free{::getpid(), ShepherdNotice::Kind::free};
  (void)!::write(notice_fd, &free, sizeof free);
  static constexpr char kDone[] = "X 0\n";
  (void)!::send(conn, kDone, sizeof kDone - 1, MSG_NOSIGNAL);
}

}  // namespace hutch::agent
