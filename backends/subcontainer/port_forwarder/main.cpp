// hutch-port-forwarder: holds the host ports a subcontainer sandbox publishes and relays their
// connections to the sandbox's bridge address, as docker-proxy does for docker. Relaying in a
// process (rather than DNAT to the sandbox) keeps the host's loopback closed to sandboxes: no
// route_localnet, and a port on 127.0.0.1 is reached from this host only.
//
// It runs in the host's network namespace, as nobody once it holds its sockets, and ends with
// the sandbox's leader (its pidfd), on SIGTERM, or when killed: it owns nothing but its sockets,
// which the kernel closes with it. See protocol.hpp for how the host starts it.
#include "protocol.hpp"
#include "starter_report.hpp"
#include "tcp_relay.hpp"
#include "udp_relay.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/address_v4.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/signal_set.hpp>

#include <grp.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <cstdio>
#include <cstring>
#include <stdexcept>
#include <string>
#include <vector>

namespace asio = boost::asio;
using namespace hutch::subcontainer::port_forwarder;

namespace {

constexpr uid_t kNobody = 65534;

struct Forward {
  bool udp = false;
  std::uint16_t sandbox_port = 0;
};

using hutch::subcontainer::starter::fail;
using hutch::subcontainer::starter::report;

// "tcp:80" / "udp:53".
Forward parse_forward(const std::string& text) {
  Forward forward;
  const auto colon = text.find(':');
  const std::string protocol = text.substr(0, colon);
  if (colon == std::string::npos || (protocol != "tcp" && protocol != "udp")) fail("bad forward '" + text + "'");
  forward.udp = protocol == "udp";
  unsigned port = 0;
  const char* begin = text.data() + colon + 1;
  const char* end = text.data() + text.size();
  auto [ptr, ec] = std::from_chars(begin, end, port);
  if (ec != std::errc() || ptr != end || port == 0 || port > 65535) fail("bad port in '" + text + "'");
  forward.sandbox_port = static_cast<std::uint16_t>(port);
  return forward;
}

// The protocol object of socket `fd` (its family), for Asio to adopt it.
template <class Protocol>
Protocol protocol_of(int fd) {
  sockaddr_storage address{};
  socklen_t size = sizeof address;
  if (::getsockname(fd, reinterpret_cast<sockaddr*>(&address), &size) != 0)
    fail("fd " + std::to_string(fd) + " is no socket: " + std::strerror(errno));
  return address.ss_family == AF_INET6 ? Protocol::v6() : Protocol::v4();
}

// Nothing here needs root once the sockets are bound: connecting to the sandbox and relaying
// need no privilege. Not dumpable, so that no other process of nobody's may look inside.
void drop_privileges() {
  if (::geteuid() != 0) return;
  if (::setgroups(0, nullptr) != 0 || ::setresgid(kNobody, kNobody, kNobody) != 0 ||
      ::setresuid(kNobody, kNobody, kNobody) != 0)
    fail(std::string("cannot become nobody: ") + std::strerror(errno));
  ::prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
  ::prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0);
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 4) fail("usage: hutch-port-forwarder ID SANDBOX_ADDRESS PROTOCOL:PORT...");
  const std::string id = argv[1];
  boost::system::error_code bad_address;
  const auto sandbox = asio::ip::make_address_v4(argv[2], bad_address);
  if (bad_address) fail(std::string("bad sandbox address '") + argv[2] + "'");
  std::vector<Forward> forwards;
  for (int i = 3; i < argc; ++i) forwards.push_back(parse_forward(argv[i]));

  // Away from the host's process: the child below is reparented (to init or a subreaper) once
  // this one exits, so that no host that started it has to reap it.
  const pid_t child = ::fork();
  if (child < 0) fail(std::string("fork: ") + std::strerror(errno));
  if (child > 0) std::_Exit(0);

  ::signal(SIGPIPE, SIG_IGN);
  ::signal(SIGHUP, SIG_IGN);
  if (::chdir("/") != 0) fail("chdir /");
  drop_privileges();
  try {
    asio::io_context io(1);
    asio::signal_set stop_signals(io, SIGTERM, SIGINT);
    stop_signals.async_wait([&](const boost::system::error_code&, int) { io.stop(); });
    // The leader's pidfd turns readable when it exits: the sandbox is stopped or gone.
    asio::posix::stream_descriptor leader(io, kLeaderFd);
    leader.async_wait(asio::posix::stream_descriptor::wait_read, [&](const boost::system::error_code& error) {
      if (error != asio::error::operation_aborted) io.stop();
    });
    for (std::size_t i = 0; i < forwards.size(); ++i) {
      const int fd = kFirstSocketFd + static_cast<int>(i);
      if (forwards[i].udp) {
        using asio::ip::udp;
        start_udp_relay(io, udp::socket(io, protocol_of<udp>(fd), fd), udp::endpoint(sandbox, forwards[i].sandbox_port));
      } else {
        using asio::ip::tcp;
        start_tcp_relay(io, tcp::acceptor(io, protocol_of<tcp>(fd), fd), tcp::endpoint(sandbox, forwards[i].sandbox_port));
      }
    }
    report("OK " + std::to_string(::getpid()));
    ::close(kReportFd);
    io.run();
  } catch (const std::exception& error) {
    fail("sandbox " + id + ": " + error.what());
  }
  return 0;
}
