// libFuzzer target: bytes a client sends on a connection to the service. Each input is written
// to a real Connection (server/connection.cpp) over a socketpair, as a Unix-socket client's
// bytes: Beast's parser with the limits the service sets (16 KiB of header), the router with
// every /v1 and /e2b route, and the handlers' decoding of targets, queries, headers and JSON
// bodies, over the fake backend (one sandbox, named "@ID" in the seeds). The harness then closes
// its side and reads what the service answered until the service closes, so every request in
// the input runs to its end before the next input.
#include "connection.hpp"
#include "e2b/e2b.hpp"
#include "fuzz_service.hpp"

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/strand.hpp>

#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <thread>

using namespace hutch;
namespace net = boost::asio;

namespace {

// How long one input may keep its connection, and how long after its last byte was sent.
constexpr auto kInputDeadline = std::chrono::seconds(5);
constexpr auto kAfterInput = std::chrono::seconds(1);

struct Harness {
  Harness() : guard(net::make_work_guard(io)), router(server::make_router()) {
    server::Service& service = fuzz::service();
    service.events().set_keepalive(std::chrono::milliseconds(100));
    server::add_e2b_routes(router, service, server::E2bOptions{});
    limits.header_timeout = std::chrono::milliseconds(2000);
    limits.idle_timeout = std::chrono::milliseconds(2000);
    io_thread = std::thread([this] { io.run(); });
  }
  net::io_context io;
  net::executor_work_guard<net::io_context::executor_type> guard;
  net::thread_pool workers{4};
  server::Router router;
  server::ConnectionLimits limits;
  std::thread io_thread;
};

Harness& harness() {
  // Never destroyed: the fuzzer ends the process with exit().
  static Harness* made = new Harness();
  return *made;
}

// Writes `input` to `fd` and reads (and drops) the answers until the service closes the
// connection; half-closes after the input, as a client that is done. A stream the input opened
// (events, a WebSocket) may never end by itself: a second after the half-close, the harness
// leaves, as a client that goes away.
void converse(int fd, const std::string& input) {
  auto deadline = std::chrono::steady_clock::now() + kInputDeadline;
  std::size_t sent = 0;
  bool half_closed = false;
  char buffer[64 * 1024];
  while (std::chrono::steady_clock::now() < deadline) {
    if (sent == input.size() && !half_closed) {
      ::shutdown(fd, SHUT_WR);
      half_closed = true;
      deadline = std::min(deadline, std::chrono::steady_clock::now() + kAfterInput);
    }
    pollfd poll_fd{fd, static_cast<short>(POLLIN | (half_closed ? 0 : POLLOUT)), 0};
    if (::poll(&poll_fd, 1, 50) <= 0) continue;
    if (poll_fd.revents & POLLOUT) {
      const ssize_t n = ::send(fd, input.data() + sent, input.size() - sent, MSG_NOSIGNAL | MSG_DONTWAIT);
      if (n > 0) sent += static_cast<std::size_t>(n);
      else if (n < 0 && errno != EAGAIN) sent = input.size();  // the service closed: stop sending
    }
    if (poll_fd.revents & (POLLIN | POLLHUP | POLLERR)) {
      const ssize_t n = ::recv(fd, buffer, sizeof buffer, MSG_DONTWAIT);
      if (n == 0 || (n < 0 && errno != EAGAIN)) return;
    }
  }
}

}  // namespace

// The service, its sandbox and the I/O thread are made before the first input, outside the
// fuzzer's leak checks.
extern "C" int LLVMFuzzerInitialize(int*, char***) {
  (void)fuzz::sandbox_id();
  (void)harness();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  Harness& h = harness();
  const std::string input = fuzz::prepare_input(std::string(reinterpret_cast<const char*>(data), size));
  int fds[2];
  if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds) != 0) return 0;
  net::local::stream_protocol::socket socket(net::make_strand(h.io));
  socket.assign(net::local::stream_protocol(), fds[0]);
  server::serve_connection(std::move(socket), server::ConnectionContext{h.router, fuzz::service(), h.workers, h.limits});
  converse(fds[1], input);
  ::close(fds[1]);
  // The request's handler may still be finishing (its client gone): the next input starts after it.
  const auto deadline = std::chrono::steady_clock::now() + kInputDeadline;
  while (fuzz::service().requests_running() > 0 && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  return 0;
}
