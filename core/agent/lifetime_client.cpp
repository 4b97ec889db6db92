#include "lifetime_client.hpp"

#include "control_client.hpp"

#include <hutch/error.hpp>

#include <sys/socket.h>

#include <cerrno>
#include <ctime>

namespace hutch::agent {
namespace {

std::int64_t monotonic_ms() {
  timespec now{};
  ::clock_gettime(CLOCK_MONOTONIC, &now);
  return static_cast<std::int64_t>(now.tv_sec) * 1000 + now.tv_nsec / 1000000;
}

constexpr Duration kControlTimeout{5000};

}  // namespace

void send_lifetime(const std::filesystem::path& socket, const std::string& sandbox_id, const LifetimeSettings& settings,
                   pid_t agent_pid) {
  wire::ExecMessage message;
  message.lifetime = true;
  message.ttl_deadline_ms = settings.ttl_deadline_ms;
  message.idle_timeout_ms = settings.idle_timeout_ms;
  UniqueFd connection = send_request(socket, sandbox_id, message, {}, agent_pid, kControlTimeout);
  // The answer ("X 0") says the leader has the notice: a lifetime set now holds from now on.
  timeval limit{static_cast<time_t>(kControlTimeout.count() / 1000), 0};
  ::setsockopt(connection.get(), SOL_SOCKET, SO_RCVTIMEO, &limit, sizeof limit);
  char answer[8];
  ssize_t n;
  do {
    n = ::recv(connection.get(), answer, sizeof answer, 0);
  } while (n < 0 && errno == EINTR);
  if (n <= 0)
    throw Error(Errc::backend, "sandbox " + sandbox_id + ": the agent did not confirm the new lifetimes" +
                                   (n < 0 ? std::string(" (no answer within 5 s)") : std::string()));
}

void ActivityTouch::touch(const std::filesystem::path& socket, const std::string& sandbox_id, pid_t agent_pid) {
  const std::int64_t now = monotonic_ms();
  std::int64_t last = last_ms_.load();
  if (now - last < kTouchInterval.count() || !last_ms_.compare_exchange_strong(last, now)) return;
  wire::ExecMessage message;
  message.touch = true;
  try {
    // Closed at once: the agent reads the request from the socket's buffer all the same.
    send_request(socket, sandbox_id, message, {}, agent_pid, kControlTimeout);
  } catch (const Error&) {
    // A stopped sandbox, or one whose agent is busy: the call itself will say what matters.
  }
}

}  // namespace hutch::agent
