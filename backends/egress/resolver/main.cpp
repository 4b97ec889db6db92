// hutch-resolver: the DNS resolver of one hutch instance's bridge sandboxes
// (resolver_process.hpp starts and stops it). One process per bridge serves every
// sandbox on it, each by its own rules, told apart by the source address.
//
//   hutch-resolver --listen ADDRESS --table TABLE --policies DIR [--upstream ADDRESS]...
//
// It binds ADDRESS:53 (UDP and TCP), then forks: the parent prints the child's pid and exits
// (so the starter knows it is ready, and it is nobody's child: it outlives the hutch that
// started it), the child serves until it is killed. Failures go to stderr (the starter's log).
#include "address_sets.hpp"
#include "dns_server.hpp"
#include "privileges.hpp"
#include "query_handler.hpp"
#include "upstream.hpp"

#include <boost/asio/io_context.hpp>

#include <fcntl.h>
#include <signal.h>
#include <netinet/in.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <exception>
#include <iostream>
#include <string>
#include <system_error>
#include <vector>

namespace asio = boost::asio;
using namespace hutch::egress::resolver;

namespace {

struct Options {
  asio::ip::address listen;
  std::string table;
  std::string policies;
  std::vector<asio::ip::address> upstreams;
};

Options parse(int argc, char** argv) {
  Options options;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string key = argv[i], value = argv[i + 1];
    if (key == "--listen") options.listen = asio::ip::make_address(value);
    else if (key == "--table") options.table = value;
    else if (key == "--policies") options.policies = value;
    else if (key == "--upstream") options.upstreams.push_back(asio::ip::make_address(value));
    else throw std::invalid_argument("unknown option " + key);
  }
  if (options.table.empty() || options.policies.empty() || options.listen.is_unspecified())
    throw std::invalid_argument("usage: hutch-resolver --listen ADDRESS --table TABLE --policies DIR "
                                "[--upstream ADDRESS]...");
  return options;
}

}  // namespace

int main(int argc, char** argv) {
  try {
    const Options options = parse(argc, argv);
    ::signal(SIGPIPE, SIG_IGN);
    asio::io_context io;
    const std::uint16_t port = 53;
    // IP_FREEBIND: the address may not exist yet. Podman puts the gateway's address on its
    // bridge only when the network's first container starts, after hutch made the sandbox's
    // rules and this resolver (docker backend, egress_network.hpp); it serves from then on.
    using FreeBind = asio::detail::socket_option::boolean<IPPROTO_IP, IP_FREEBIND>;
    asio::ip::udp::socket udp(io, asio::ip::udp::endpoint(options.listen, port).protocol());
    udp.set_option(asio::socket_base::reuse_address(true));
    udp.set_option(FreeBind(true));
    udp.bind({options.listen, port});
    asio::ip::tcp::acceptor tcp(io, asio::ip::tcp::endpoint(options.listen, port).protocol());
    tcp.set_option(asio::socket_base::reuse_address(true));
    tcp.set_option(FreeBind(true));
    tcp.bind({options.listen, port});
    tcp.listen();
    // Before the fork, so that a failure shows in the exit status the starter waits for.
    if (::chdir("/") != 0) throw std::system_error(errno, std::generic_category(), "chdir /");
    keep_only_net_admin();

    io.notify_fork(asio::io_context::fork_prepare);
    const pid_t child = ::fork();
    if (child < 0) throw std::system_error(errno, std::generic_category(), "fork");
    if (child > 0) {
      std::printf("%d\n", static_cast<int>(child));
      std::fflush(stdout);
      ::_exit(0);
    }
    io.notify_fork(asio::io_context::fork_child);
    // Nothing of the starter's is held any more: its pipe on stdout closes here.
    const int null = ::open("/dev/null", O_RDWR | O_CLOEXEC);
    ::dup2(null, STDIN_FILENO);
    ::dup2(null, STDOUT_FILENO);
    ::close(null);

    Upstreams upstreams(io.get_executor(), options.upstreams);
    AddressSets sets(options.table);
    QueryHandler handler(options.policies, upstreams, sets);
    DnsServer server(io, std::move(udp), std::move(tcp), handler);
    server.start();
    io.run();
    return 0;
  } catch (const std::exception& e) {
    std::cerr << "hutch-resolver: " << e.what() << "\n";
    return 1;
  }
}
