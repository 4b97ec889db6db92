// Rootless bridge networking through pasta (network/pasta_network.hpp), as an unprivileged user.
// RootlessPasta.TestsPassAsNobody (as root) makes the fake internet (fake_internet.hpp) in the
// test's network namespace (main.cpp) and runs this binary again there as nobody with the
// PastaNetworkTest tests alone: pasta's sockets are then in that namespace, so no packet leaves
// this machine. The tests check that a sandbox reaches the fake internet and its DNS, that the
// default denies metadata and private ranges, that the host's loopback and addresses stay
// closed, that CIDR rules decide and change live (domain rules are refused), that a published
// port answers on 127.0.0.1, that stop ends pasta and frees the port, and that no
// pasta is left after destroy, after its leader died, and after prune of a killed creator's
// sandbox.
#include "error_of.hpp"
#include "fake_internet.hpp"
#include "killed_subcontainer_creator.hpp"
#include "network/pasta_network.hpp"
#include "runtime_fixture.hpp"
#include "sandbox_fetch.hpp"
#include "sandbox_record.hpp"
#include "tcp_client.hpp"
#include "temp_dir.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <fcntl.h>
#include <grp.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <thread>

namespace hutch::subcontainer::test {
namespace {
namespace fs = std::filesystem;
using ::testing::HasSubstr;
using ::testing::Not;

// Set in the re-run as nobody: the PastaNetworkTest tests run there only.
constexpr const char* kRerun = "HUTCH_TEST_PASTA_RERUN";
constexpr uid_t kNobody = 65534;

TEST(RootlessPasta, TestsPassAsNobody) {
  HUTCH_NEED(::geteuid() == 0 && namespaces_available(), "HUTCH_REQUIRE_NAMESPACES",
             "root (to make the fake internet and become nobody) and namespaces");
  HUTCH_NEED(!network::find_pasta().empty(), "HUTCH_REQUIRE_NAMESPACES", "pasta (Debian package passt) in $PATH");
  HUTCH_NEED(::access("/dev/net/tun", F_OK) == 0, "HUTCH_REQUIRE_NAMESPACES", "/dev/net/tun");
  FakeInternet internet;
  const hutch::test::TempDir state("hutch-pasta-");
  ASSERT_EQ(::chown(state.path().c_str(), kNobody, kNobody), 0) << state.path();
  const hutch::test::TempDir tun_dir("hutch-tun-");
  const std::string tun = (tun_dir.path() / "tun").string(), tun_dir_text = tun_dir.path().string();
  const std::string log = (state.path() / "log").string();
  const std::string self = fs::read_symlink("/proc/self/exe").string();
  std::vector<std::string> argv{self, "--gtest_filter=PastaNetworkTest.*"};
  std::vector<std::string> env{"HUTCH_TEST_STATE_ROOT=" + state.path().string(), "HUTCH_REQUIRE_NAMESPACES=1",
                               std::string(kRerun) + "=1",
                               std::string("PATH=") + (std::getenv("PATH") ? std::getenv("PATH") : "/usr/bin:/bin")};
  std::vector<char*> argv_p, env_p;
  for (auto& arg : argv) argv_p.push_back(arg.data());
  argv_p.push_back(nullptr);
  for (auto& entry : env) env_p.push_back(entry.data());
  env_p.push_back(nullptr);
  const int log_fd = ::open(log.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  ASSERT_GE(log_fd, 0) << log;
  ASSERT_EQ(::fchown(log_fd, kNobody, kNobody), 0);
  // Raw calls only until the exec: this process has threads.
  const pid_t child = ::fork();
  if (child == 0) {
    ::dup2(log_fd, 1);
    ::dup2(log_fd, 2);
    // Hosts where /dev/net/tun is root's alone (mode 0600, like this CI's): an unprivileged
    // pasta needs it open to all, as udev makes it elsewhere. Changed in a mount namespace of
    // the child's own, not on the host.
    const bool ok = ::unshare(CLONE_NEWNS) == 0 && ::mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) == 0 &&
                    ::mount("tmpfs", tun_dir_text.c_str(), "tmpfs", 0, "mode=0755") == 0 &&
                    ::mknod(tun.c_str(), S_IFCHR | 0666, ::makedev(10, 200)) == 0 && ::chmod(tun.c_str(), 0666) == 0 &&
                    ::mount(tun.c_str(), "/dev/net/tun", nullptr, MS_BIND, nullptr) == 0 && ::setgroups(0, nullptr) == 0 &&
                    ::setresgid(kNobody, kNobody, kNobody) == 0 && ::setresuid(kNobody, kNobody, kNobody) == 0;
    if (ok) ::execve(self.c_str(), argv_p.data(), env_p.data());
    const char message[] = "could not become nobody with /dev/net/tun open to it\n";
    (void)!::write(2, message, sizeof message - 1);
    ::_exit(127);
  }
  ::close(log_fd);
  ASSERT_GT(child, 0);
  int status = 0;
  ::waitpid(child, &status, 0);
  std::ifstream in(log);
  const std::string output((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << output;
  EXPECT_THAT(output, HasSubstr("[  PASSED  ] 7 tests")) << output;
  EXPECT_THAT(output, Not(HasSubstr("SKIPPED"))) << output;
}

class PastaNetworkTest : public RuntimeTest {
 protected:
  void SetUp() override {
    if (std::getenv(kRerun) == nullptr) GTEST_SKIP() << "runs as nobody, in RootlessPasta.TestsPassAsNobody";
    RuntimeTest::SetUp();
    if (IsSkipped() || HasFatalFailure()) return;
    ASSERT_NE(::geteuid(), 0u);
    runtime_->config.pasta = network::find_pasta();
    runtime_->config.pasta_helper = fs::path(HUTCH_SUBCONTAINER_HELPER).parent_path() / "hutch-pasta-helper";
    // Never the host's resolver: pasta forwards the sandboxes' names to the fake internet's.
    runtime_->config.bridge.upstream_dns = {kFakeDnsServer};
    runtime_->pasta = std::make_unique<network::PastaNetwork>(network::PastaSettings{
        runtime_->config.pasta, runtime_->config.pasta_helper, runtime_->config.bridge.upstream_dns});
    ASSERT_TRUE(runtime_->pasta->available());
  }

  std::shared_ptr<Handle> create(std::vector<EgressRule> egress = {}, std::vector<PortMapping> ports = {}) {
    SandboxSpec spec;
    spec.network = NetworkMode::bridge;
    spec.egress = std::move(egress);
    spec.ports = std::move(ports);
    return backend_->create(spec);
  }
  SandboxRecord record_of(const std::string& id) {
    return load_record(sandbox_paths(runtime_->config.sandboxes_dir, id).record, id);
  }
  static bool ends_within_2s(const SandboxRecord& record) {
    for (int i = 0; i < 200; ++i) {
      if (!network::owned_process_alive(record.pasta_pid, record.pasta_start)) return true;
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    return false;
  }
};

TEST_F(PastaNetworkTest, ReachesTheInternetAndItsDnsButNotWhatTheDefaultDenies) {
  auto sandbox = create();
  EXPECT_THAT(fetch_from(*sandbox, kPublicServer, kServerPort), HasSubstr("hello " + std::string(kPublicServer)));
  for (const auto& blocked : kBlockedServers)
    EXPECT_THAT(fetch_from(*sandbox, blocked, kServerPort, 2), Not(HasSubstr("hello"))) << blocked;
  // Names through upstream_dns, the server its resolv.conf names; no other server.
  EXPECT_THAT(sh(*sandbox, "cat /etc/resolv.conf").stdout_data, HasSubstr(kFakeDnsServer));
  EXPECT_THAT(sh(*sandbox, "busybox nslookup good.test 2>&1").stdout_data, HasSubstr(kPublicServer));
  EXPECT_THAT(sh(*sandbox, "timeout 3 busybox nslookup good.test " + std::string(kOtherPublicServer) + " 2>&1").stdout_data,
              Not(HasSubstr(kPublicServer)));
}

// Nothing on the host's loopback, nor on its addresses: not through the sandbox's own
// 127.0.0.1 (pasta's -T forwarding is off), nor through the gateway's address (--no-map-gw:
// even a rule that allows it reaches no host service), nor through the host's address.
TEST_F(PastaNetworkTest, TheHostsLoopbackAndAddressesStayClosed) {
  const std::uint16_t port = hutch::test::free_tcp_port();
  TcpGreeter host_service(port);
  ASSERT_THAT(hutch::test::tcp_exchange("127.0.0.1", port).value_or(""), HasSubstr("hello"));
  auto by_default = create();
  auto allowing = create({{EgressAction::allow, std::string(network::PastaNetwork::kGateway) + "/32"},
                          {EgressAction::allow, "127.0.0.0/8"}});
  for (Handle* sandbox : {by_default.get(), allowing.get()})
    for (const std::string address : {"127.0.0.1", network::PastaNetwork::kGateway, kTestHostAddress})
      EXPECT_THAT(fetch_from(*sandbox, address, port, 2), Not(HasSubstr("hello"))) << sandbox->id() << " " << address;
  EXPECT_EQ(host_service.peers().size(), 1u) << "a sandbox's connection reached the host's service";
}

TEST_F(PastaNetworkTest, CidrRulesDecideAndChangeLiveButDomainRulesAreRefused) {
  auto sandbox = create({{EgressAction::allow, std::string(kPublicServer) + "/32"}, {EgressAction::deny, "all"}});
  EXPECT_THAT(fetch_from(*sandbox, kPublicServer, kServerPort), HasSubstr("hello"));
  EXPECT_THAT(fetch_from(*sandbox, kOtherPublicServer, kServerPort, 2), Not(HasSubstr("hello")));
  sandbox->set_egress({});
  EXPECT_THAT(fetch_from(*sandbox, kOtherPublicServer, kServerPort), HasSubstr("hello"));
  sandbox->set_egress({{EgressAction::deny, std::string(kPublicServer) + "/32"}});
  EXPECT_THAT(fetch_from(*sandbox, kPublicServer, kServerPort, 2), Not(HasSubstr("hello")));
  EXPECT_THAT(fetch_from(*sandbox, kOtherPublicServer, kServerPort), HasSubstr("hello"));
  const Error refused = hutch::test::error_of([&] { create({{EgressAction::allow, "good.test"}}); });
  EXPECT_EQ(refused.code(), Errc::unsupported);
  EXPECT_THAT(refused.what(), HasSubstr("domain rules"));
  const Error refused_live = hutch::test::error_of([&] { sandbox->set_egress({{EgressAction::allow, "good.test"}}); });
  EXPECT_EQ(refused_live.code(), Errc::unsupported);
}

TEST_F(PastaNetworkTest, APublishedPortAnswersOnLoopback) {
  auto sandbox = create({}, {PortMapping{.sandbox_port = 8080}});
  const auto ports = sandbox->ports();
  ASSERT_EQ(ports.size(), 1u);
  EXPECT_EQ(ports[0].host_address, "127.0.0.1");
  ASSERT_NE(ports[0].host_port, 0);
  ExecRequest serve;
  serve.argv = {"sh", "-c", "while true; do echo hello-through-pasta | busybox nc -l -p 8080; done"};
  auto server = sandbox->spawn(serve);
  EXPECT_EQ(hutch::test::tcp_exchange_when_up("127.0.0.1", ports[0].host_port), "hello-through-pasta\n");
  EXPECT_TRUE(hutch::test::tcp_refused(kTestHostAddress, ports[0].host_port));
  server->kill();
}

TEST_F(PastaNetworkTest, DestroyAndPruneOfAKilledCreatorsSandboxLeaveNoPasta) {
  auto sandbox = create({}, {PortMapping{.sandbox_port = 8080}});
  const SandboxRecord record = record_of(sandbox->id());
  ASSERT_TRUE(network::owned_process_alive(record.pasta_pid, record.pasta_start));
  const std::uint16_t port = record.published.at(0).host_port;
  sandbox->destroy();
  EXPECT_FALSE(network::owned_process_alive(record.pasta_pid, record.pasta_start)) << "pasta outlived destroy";
  EXPECT_TRUE(hutch::test::tcp_refused("127.0.0.1", port)) << "the host port is held after destroy";
  EXPECT_FALSE(fs::exists(sandbox_paths(runtime_->config.sandboxes_dir, record.id).dir));

  SandboxSpec spec;
  spec.network = NetworkMode::bridge;
  spec.ports = {PortMapping{.sandbox_port = 8080}};
  const std::string id = create_in_a_killed_creator(runtime_->config, spec);
  ASSERT_FALSE(id.empty()) << "the creator failed to create a sandbox";
  const SandboxRecord orphan = record_of(id);
  ASSERT_TRUE(network::owned_process_alive(orphan.pasta_pid, orphan.pasta_start)) << "pasta went with its creator";
  EXPECT_THAT(backend_->prune(Filter{}), ::testing::Contains(id));
  EXPECT_FALSE(network::owned_process_alive(orphan.pasta_pid, orphan.pasta_start)) << "prune left pasta";
  EXPECT_TRUE(hutch::test::tcp_refused("127.0.0.1", orphan.published.at(0).host_port));
  EXPECT_FALSE(fs::exists(sandbox_paths(runtime_->config.sandboxes_dir, id).dir));
}

// Stopped, a sandbox has no pasta and holds no port. (Its start again is not checked here: a
// rootless start after a stop fails on its overlay mount whatever the network, as StopTest's
// tests run as nobody show.)
TEST_F(PastaNetworkTest, StopEndsPastaAndFreesThePort) {
  auto sandbox = create({}, {PortMapping{.sandbox_port = 8080}});
  const SandboxRecord before = record_of(sandbox->id());
  ASSERT_TRUE(network::owned_process_alive(before.pasta_pid, before.pasta_start));
  const std::uint16_t port = sandbox->ports().at(0).host_port;
  sandbox->stop();
  EXPECT_FALSE(network::owned_process_alive(before.pasta_pid, before.pasta_start)) << "pasta outlived stop";
  EXPECT_TRUE(sandbox->ports().empty());
  EXPECT_TRUE(hutch::test::tcp_refused("127.0.0.1", port)) << "the host port is held after stop";
}

// A sandbox whose leader dies (a crash, or its lifetime) takes its pasta along.
TEST_F(PastaNetworkTest, PastaEndsWithTheLeader) {
  auto sandbox = create();
  const SandboxRecord record = record_of(sandbox->id());
  ASSERT_TRUE(network::owned_process_alive(record.pasta_pid, record.pasta_start));
  ASSERT_EQ(::kill(record.leader_pid, SIGKILL), 0);
  EXPECT_TRUE(ends_within_2s(record)) << "pasta outlived the leader by 2s";
}

}  // namespace
}  // namespace hutch::subcontainer::test
