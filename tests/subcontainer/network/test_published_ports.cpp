// Published ports of bridge sandboxes (--publish), on real namespaces, veths and nftables in the
// test's own network namespace (main.cpp): a port answers on the host address it is published
// on and on no other, port 0 gets a real port that every process sees, a sandbox cannot reach
// the host's loopback, and nothing (forwarder process, listening socket, network) is left after
// destroy, stop, and a creator killed with SIGKILL plus prune.
#include "bridge_fixture.hpp"
#include "error_of.hpp"
#include "network/port_forwarder_process.hpp"
#include "sandbox_record.hpp"
#include "tcp_client.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>

#include <chrono>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <thread>

namespace hutch::subcontainer::test {
namespace {
namespace fs = std::filesystem;
using ::testing::HasSubstr;
using ::testing::Not;
using hutch::test::tcp_exchange_when_up;
using hutch::test::tcp_refused;

class PublishedPortsTest : public BridgeNetworkTest {
 protected:
  std::shared_ptr<Handle> create_publishing(std::vector<PortMapping> ports) {
    SandboxSpec spec;
    spec.network = NetworkMode::bridge;
    spec.ports = std::move(ports);
    return backend_->create(spec);
  }

  // A server in the sandbox that greets every connection on `port` (busybox nc serves one each).
  std::unique_ptr<Process> serve(Handle& sandbox, std::uint16_t port, const std::string& greeting) {
    ExecRequest request;
    request.argv = {"sh", "-c", "while true; do echo " + greeting + " | busybox nc -l -p " + std::to_string(port) + "; done"};
    return sandbox.spawn(request);
  }

  // The forwarders of sandbox `id` running now: processes named hutch-port-forwarder whose first
  // argument is the id (port_forwarder/protocol.hpp).
  static std::vector<pid_t> forwarders_of(const std::string& id) {
    std::vector<pid_t> found;
    for (const auto& entry : fs::directory_iterator("/proc")) {
      const std::string name = entry.path().filename().string();
      if (name.find_first_not_of("0123456789") != std::string::npos) continue;
      std::ifstream in(entry.path() / "cmdline");
      std::string argv0, argv1;
      if (!std::getline(in, argv0, '\0') || !std::getline(in, argv1, '\0')) continue;
      if (fs::path(argv0).filename() == "hutch-port-forwarder" && argv1 == id) found.push_back(std::stoi(name));
    }
    return found;
  }

  SandboxRecord record_of(const std::string& id) {
    return load_record(sandbox_paths(runtime_->config.sandboxes_dir, id).record, id);
  }
};

TEST_F(PublishedPortsTest, AnswersOnTheHostsLoopbackAndOnNoOtherAddress) {
  auto sandbox = create_publishing({PortMapping{.sandbox_port = 8080}});
  const auto ports = sandbox->ports();
  ASSERT_EQ(ports.size(), 1u);
  EXPECT_EQ(ports[0].sandbox_port, 8080);
  EXPECT_EQ(ports[0].host_address, "127.0.0.1");
  EXPECT_EQ(ports[0].protocol, PortProtocol::tcp);
  ASSERT_NE(ports[0].host_port, 0) << "port 0 was not replaced by the port picked";
  auto server = serve(*sandbox, 8080, "hello-from-the-sandbox");
  EXPECT_EQ(tcp_exchange_when_up("127.0.0.1", ports[0].host_port), "hello-from-the-sandbox\n");
  // The host's other addresses: its address on the bridge, one on another link, another
  // loopback address.
  EXPECT_TRUE(tcp_refused(kGateway, ports[0].host_port));
  EXPECT_TRUE(tcp_refused(kTestHostAddress, ports[0].host_port));
  EXPECT_TRUE(tcp_refused("127.0.0.2", ports[0].host_port));
  server->kill();
}

// Both directions pass: what the host sends reaches the server in the sandbox, whose answer
// comes back; the server's end of stream reaches the host as one.
TEST_F(PublishedPortsTest, RelaysBothDirections) {
  auto sandbox = create_publishing({PortMapping{.sandbox_port = 7000}});
  ExecRequest echo_back;
  // nc's output (what the host sent) goes through a fifo to the reply, which nc sends back.
  echo_back.argv = {"sh", "-c",
                    "while true; do rm -f /tmp/in; mkfifo /tmp/in; "
                    "cat /tmp/in | { read line; echo got:$line; } | busybox nc -l -p 7000 > /tmp/in; done"};
  auto server = sandbox->spawn(echo_back);
  EXPECT_EQ(tcp_exchange_when_up("127.0.0.1", sandbox->ports().at(0).host_port, "ping\n", /*half_close=*/false),
            "got:ping\n");
  server->kill();
}

// A UDP port: a datagram to the host port reaches the server in the sandbox, and its answer
// comes back to the sender's address (the forwarder keeps a socket per client).
TEST_F(PublishedPortsTest, RelaysUdpDatagramsAndTheirAnswers) {
  auto sandbox = create_publishing({PortMapping{"127.0.0.1", 0, 5300, PortProtocol::udp}});
  const std::uint16_t port = sandbox->ports().at(0).host_port;
  ExecRequest echo_back;
  // A UDP echo server with a prefix (busybox nc has no UDP; perl-base is in every Debian).
  echo_back.argv = {"perl", "-MIO::Socket::INET", "-e",
                    "my $s = IO::Socket::INET->new(LocalPort => 5300, Proto => 'udp') or die $!;"
                    "while (my $peer = $s->recv(my $data, 512)) { $s->send(\"got:$data\", 0, $peer); }"};
  auto server = sandbox->spawn(echo_back);
  const int fd = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  ASSERT_GE(fd, 0);
  timeval wait{0, 200000};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &wait, sizeof wait);
  sockaddr_in to{};
  to.sin_family = AF_INET;
  to.sin_port = htons(port);
  to.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  std::string answer;
  // Until the server listens, datagrams are lost: send again until one is answered.
  for (int attempt = 0; attempt < 50 && answer.empty(); ++attempt) {
    ASSERT_EQ(::sendto(fd, "ping", 4, 0, reinterpret_cast<sockaddr*>(&to), sizeof to), 4) << std::strerror(errno);
    char buffer[64] = {};
    const ssize_t got = ::recv(fd, buffer, sizeof buffer - 1, 0);
    if (got > 0) answer.assign(buffer, static_cast<std::size_t>(got));
  }
  ::close(fd);
  EXPECT_EQ(answer, "got:ping");
  server->kill();
}

// A fixed host port is bound as asked; port 0 gets a free one; every process (another backend
// on the same state dir, as a second `hutch port` would be) reads the same bindings, in the
// spec's order.
TEST_F(PublishedPortsTest, FixedAndPickedPortsAreReportedToEveryProcess) {
  const std::uint16_t fixed = hutch::test::free_tcp_port();
  auto sandbox = create_publishing({PortMapping{"127.0.0.1", fixed, 8081}, PortMapping{.sandbox_port = 8082},
                                    PortMapping{"127.0.0.1", 0, 5353, PortProtocol::udp}});
  const auto ports = sandbox->ports();
  ASSERT_EQ(ports.size(), 3u);
  EXPECT_EQ(ports[0], (PortBinding{8081, "127.0.0.1", fixed, PortProtocol::tcp}));
  EXPECT_EQ(ports[1].sandbox_port, 8082);
  EXPECT_NE(ports[1].host_port, 0);
  EXPECT_EQ(ports[2].protocol, PortProtocol::udp);
  EXPECT_NE(ports[2].host_port, 0);
  SubcontainerBackend other(make_runtime(runtime_->config, hutch::logger()));
  EXPECT_EQ(other.resume(sandbox->id())->ports(), ports);
  auto server = serve(*sandbox, 8081, "fixed");
  EXPECT_EQ(tcp_exchange_when_up("127.0.0.1", fixed), "fixed\n");
  server->kill();
  // The same fixed port again is in use: a second sandbox fails naming it, and leaves nothing.
  const Error taken = hutch::test::error_of([&] { create_publishing({PortMapping{"127.0.0.1", fixed, 80}}); });
  EXPECT_EQ(taken.code(), Errc::state);
  EXPECT_THAT(taken.what(), HasSubstr("host port " + std::to_string(fixed) + "/tcp on 127.0.0.1 is in use"));
  EXPECT_EQ(leases().size(), 1u) << "the failed create kept its address";
}

// The forwarder relays from the host into the sandbox, never the other way: the sandbox cannot
// reach a service on the host's loopback, neither through its own 127.0.0.1 (its own namespace)
// nor through the host's address on the bridge, nor the published port through the bridge.
TEST_F(PublishedPortsTest, ASandboxCannotReachTheHostsLoopback) {
  auto publisher = create_publishing({PortMapping{.sandbox_port = 8080}});
  const std::uint16_t published = publisher->ports().at(0).host_port;
  auto server = serve(*publisher, 8080, "hello-published");
  ASSERT_EQ(tcp_exchange_when_up("127.0.0.1", published), "hello-published\n");
  auto other = create_bridge_sandbox();
  for (Handle* sandbox : {publisher.get(), other.get()}) {
    EXPECT_THAT(fetch(*sandbox, "127.0.0.1", published), Not(HasSubstr("hello"))) << sandbox->id();
    EXPECT_THAT(fetch(*sandbox, kGateway, published), Not(HasSubstr("hello"))) << sandbox->id();
  }
  server->kill();
}

// Publishing needs a bridge: refused with network none (and host), naming the option.
TEST_F(PublishedPortsTest, PublishingWithoutABridgeIsRefusedNamingTheNetwork) {
  SandboxSpec spec;
  spec.ports = {PortMapping{.sandbox_port = 80}};
  for (NetworkMode mode : {NetworkMode::none, NetworkMode::host}) {
    spec.network = mode;
    const Error refused = hutch::test::error_of([&] { backend_->create(spec); });
    EXPECT_EQ(refused.code(), Errc::invalid_argument);
    EXPECT_THAT(refused.what(), HasSubstr("publishing ports needs network \"bridge\"; network is \"" +
                                          std::string(to_string(mode)) + "\""));
  }
}

TEST_F(PublishedPortsTest, DestroyEndsTheForwarderAndFreesThePort) {
  auto sandbox = create_publishing({PortMapping{.sandbox_port = 8080}});
  const std::string id = sandbox->id();
  const std::uint16_t port = sandbox->ports().at(0).host_port;
  ASSERT_EQ(forwarders_of(id).size(), 1u);
  EXPECT_FALSE(tcp_refused("127.0.0.1", port)) << "the forwarder does not hold its port";
  sandbox->destroy();
  EXPECT_TRUE(forwarders_of(id).empty()) << "the forwarder outlived its sandbox";
  EXPECT_TRUE(tcp_refused("127.0.0.1", port)) << "the host port is held after destroy";
  expect_no_network_left(id);
}

// Stopped, a sandbox holds no port and ports() is empty; started again, it gets the port it had.
TEST_F(PublishedPortsTest, StopReleasesThePortAndStartBindsTheSameOneAgain) {
  auto sandbox = create_publishing({PortMapping{.sandbox_port = 8080}});
  const std::uint16_t port = sandbox->ports().at(0).host_port;
  sandbox->stop();
  EXPECT_TRUE(sandbox->ports().empty());
  EXPECT_TRUE(forwarders_of(sandbox->id()).empty());
  EXPECT_TRUE(tcp_refused("127.0.0.1", port));
  sandbox->start();
  ASSERT_EQ(sandbox->ports().size(), 1u);
  EXPECT_EQ(sandbox->ports()[0].host_port, port);
  auto server = serve(*sandbox, 8080, "again");
  EXPECT_EQ(tcp_exchange_when_up("127.0.0.1", port), "again\n");
  server->kill();
}

// The creator killed with SIGKILL: the forwarder is nobody's child and holds the port; prune
// removes the sandbox, and with its leader the forwarder and the port go.
TEST_F(PublishedPortsTest, PruneAfterTheCreatorWasKilledLeavesNoForwarder) {
  SandboxSpec spec;
  spec.network = NetworkMode::bridge;
  spec.ports = {PortMapping{.sandbox_port = 8080}};
  const std::string id = create_in_a_killed_creator(spec);
  ASSERT_FALSE(id.empty()) << "the creator failed to create a sandbox publishing a port";
  const SandboxRecord record = record_of(id);
  ASSERT_EQ(record.published.size(), 1u);
  const std::uint16_t port = record.published[0].host_port;
  ASSERT_EQ(forwarders_of(id).size(), 1u) << "the forwarder went with its creator";
  EXPECT_FALSE(tcp_refused("127.0.0.1", port));
  EXPECT_THAT(backend_->prune(Filter{}), ::testing::Contains(id));
  EXPECT_TRUE(forwarders_of(id).empty()) << "prune left the forwarder";
  EXPECT_TRUE(tcp_refused("127.0.0.1", port)) << "the host port is held after prune";
  expect_no_network_left(id);
}

// A forwarder whose sandbox's leader dies (a crash, or its lifetime) ends by itself.
TEST_F(PublishedPortsTest, TheForwarderEndsWithTheLeader) {
  auto sandbox = create_publishing({PortMapping{.sandbox_port = 8080}});
  const SandboxRecord record = record_of(sandbox->id());
  ASSERT_TRUE(network::owned_process_alive(record.forwarder_pid, record.forwarder_start));
  ASSERT_EQ(::kill(record.leader_pid, SIGKILL), 0);
  bool ended = false;
  for (int i = 0; i < 200 && !ended; ++i) {
    ended = !network::owned_process_alive(record.forwarder_pid, record.forwarder_start);
    if (!ended) std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  EXPECT_TRUE(ended) << "the forwarder outlived the leader by 2s";
  EXPECT_TRUE(sandbox->ports().empty());
}

}  // namespace
}  // namespace hutch::subcontainer::test
