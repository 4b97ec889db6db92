// Egress rules and the default egress policy on the docker backend (issue 19), against the
// real engine (dockerd, and rootful Podman through DOCKER_HOST): sandboxes on hutch's network
// reach a fake internet (fake_internet.hpp: a network namespace of this test's, reached from
// the host's namespace through routes to 198.18.0.0/15 and to each blocked server alone, so no
// packet leaves the machine), with the fake DNS server as upstream_dns. Needs root (the host's
// nftables and routes); nothing is left after a test, which TearDown checks.
#include "docker_fixture.hpp"
#include "egress_network.hpp"
#include "fake_internet.hpp"
#include "tcp_greeter.hpp"

#include "egress_policy.hpp"
#include "nftables.hpp"
#include "resolver_process.hpp"

#include <killed_creator.hpp>
#include <tcp_client.hpp>

#include <gmock/gmock.h>

#include <unistd.h>

#include <chrono>
#include <thread>

namespace hutch::docker::test {
namespace {
using ::testing::HasSubstr;
using ::testing::Not;
namespace fake = hutch::subcontainer::test;

bool on_podman() {
  const char* host = std::getenv("DOCKER_HOST");
  return host != nullptr && std::string(host).find("podman") != std::string::npos;
}

class DockerEgressTest : public DockerTest {
 protected:
  void SetUp() override {
    DockerTest::SetUp();
    if (IsSkipped() || HasFatalFailure()) return;
    HUTCH_NEED(::geteuid() == 0, "HUTCH_REQUIRE_NAMESPACES", "egress rules on docker need root (the host's nftables)");
    internet_ = std::make_unique<fake::FakeInternet>(fake::FakeInternet::Routes::host);
    backend_ = make_backend(config());
  }

  void TearDown() override {
    DockerTest::TearDown();
    if (backend_) expect_no_network_left();
    internet_.reset();
  }

  // Each engine its own subnet, outside the defaults (10.214.N.0/24) of the other docker tests
  // that may run meanwhile.
  DockerConfig config() const {
    DockerConfig config;
    config.egress_subnet = *egress::parse_ipv4_cidr(on_podman() ? "10.215.2.0/24" : "10.215.1.0/24");
    config.upstream_dns = {fake::kFakeDnsServer};
    config.resolver = HUTCH_RESOLVER;
    return config;
  }

  std::shared_ptr<Handle> bridge_sandbox(const std::vector<EgressRule>& rules = {}) {
    SandboxSpec spec = base_spec();
    spec.network = NetworkMode::bridge;
    spec.egress = rules;
    return create(spec);
  }

  // What the fake server says on port 80 of `host` (a name or an address), and the exit status.
  static std::string fetch(Handle& sandbox, const std::string& host) {
    return sh(sandbox, "timeout 5 nc -w 3 " + host + " 80 </dev/null 2>&1; echo status=$?").stdout_data;
  }

  std::string table() const { return egress::instance_table_name(backend_->context()->state_dir); }
  bool table_exists() {
    egress::Nftables nft;
    try {
      nft.run("list table inet " + table() + "\n", "list");
      return true;
    } catch (const Error&) {
      return false;
    }
  }
  // Nothing of hutch's network is left: no docker network, table, resolver, lease or policy.
  void expect_no_network_left() {
    const auto dir = backend_->context()->state_dir / "network";
    EXPECT_FALSE(engine_has(*backend_, "/networks/" + table())) << "the docker network " << table() << " is left";
    EXPECT_FALSE(table_exists()) << "the nftables table " << table() << " is left";
    EXPECT_EQ(egress::ResolverProcess(dir).running(), std::nullopt) << "the DNS resolver still runs";
    std::error_code none;
    EXPECT_TRUE(std::filesystem::is_empty(dir / "leases", none) ||
                (std::filesystem::directory_iterator(dir / "leases", none)->path().filename() == ".lock" &&
                 std::distance(std::filesystem::directory_iterator(dir / "leases", none), {}) == 1) ||
                none)
        << "an address lease is left in " << dir / "leases";
    EXPECT_TRUE(std::filesystem::is_empty(dir / "dns", none) || none) << "a resolver policy file is left";
  }

  std::unique_ptr<fake::FakeInternet> internet_;
};

TEST_F(DockerEgressTest, DefaultPolicyBlocksMetadataAndPrivateRangesNotThePublicInternet) {
  auto sandbox = bridge_sandbox();
  EXPECT_THAT(fetch(*sandbox, fake::kPublicServer), HasSubstr(std::string("hello ") + fake::kPublicServer));
  EXPECT_THAT(fetch(*sandbox, "good.test"), HasSubstr(std::string("hello ") + fake::kPublicServer))
      << "names do not resolve through hutch's resolver";
  for (const auto& blocked : fake::kBlockedServers)
    EXPECT_THAT(fetch(*sandbox, blocked), Not(HasSubstr("hello"))) << blocked << " is reachable by default";
  EXPECT_TRUE(backend_->capabilities().set_egress);
}

// The host is closed to the sandbox: a service on all of the host's addresses is reached
// neither through the network's gateway (the host's address on hutch's bridge) nor through
// another address of the host, and the published ports are the only way in.
TEST_F(DockerEgressTest, TheHostsServicesAreClosedToTheSandbox) {
  const std::uint16_t port = hutch::test::free_tcp_port("0.0.0.0");
  fake::TcpGreeter host_service(port);
  const std::string gateway = egress::format_ipv4(config().egress_subnet->network() + 1);
  auto sandbox = bridge_sandbox();
  ASSERT_THAT(fetch(*sandbox, fake::kPublicServer), HasSubstr("hello")) << "the sandbox has no network at all";
  // The service is there: the host itself reaches it on its address on the test's link.
  ASSERT_EQ(hutch::test::tcp_exchange_when_up(fake::kTestHostAddress, port),
            std::optional<std::string>(std::string("hello ") + fake::kTestHostAddress + "\n"));
  const std::size_t checked = host_service.peers().size();
  for (const std::string& address : {gateway, std::string(fake::kTestHostAddress)})
    EXPECT_THAT(sh(*sandbox, "timeout 5 nc -w 3 " + address + " " + std::to_string(port) + " </dev/null 2>&1; echo status=$?").stdout_data,
                Not(HasSubstr("hello")))
        << "the host's service answered on " << address;
  EXPECT_EQ(host_service.peers().size(), checked) << "the sandbox reached a service of the host";
}

TEST_F(DockerEgressTest, AnAllowlistByNameReachesThatNameOnlyNotAnotherNameNorAnIpLiteral) {
  auto sandbox = bridge_sandbox({{EgressAction::allow, "good.test"}, {EgressAction::deny, "all"}});
  EXPECT_THAT(fetch(*sandbox, "good.test"), HasSubstr(std::string("hello ") + fake::kPublicServer));
  EXPECT_THAT(fetch(*sandbox, "other.test"), Not(HasSubstr("hello"))) << "a name the rules do not allow resolved";
  EXPECT_THAT(fetch(*sandbox, fake::kOtherPublicServer), Not(HasSubstr("hello"))) << "an IP literal passed deny all";
  // Another DNS server than hutch's resolver is closed: names cannot come from elsewhere.
  EXPECT_THAT(sh(*sandbox, std::string("timeout 5 nslookup other.test ") + fake::kFakeDnsServer + " 2>&1").stdout_data,
              Not(HasSubstr(fake::kOtherPublicServer)));
}

TEST_F(DockerEgressTest, APolicyChangeTakesEffectOnALiveSandbox) {
  auto sandbox = bridge_sandbox();
  ASSERT_THAT(fetch(*sandbox, fake::kPublicServer), HasSubstr("hello"));
  sandbox->set_egress({{EgressAction::deny, std::string(fake::kPublicServer) + "/32"}});
  EXPECT_THAT(fetch(*sandbox, fake::kPublicServer), Not(HasSubstr("hello"))) << "the new deny rule did not apply";
  EXPECT_THAT(fetch(*sandbox, fake::kOtherPublicServer), HasSubstr("hello")) << "the rule denied more than it says";
  sandbox->set_egress({{EgressAction::allow, "good.test"}, {EgressAction::deny, "all"}});
  EXPECT_THAT(fetch(*sandbox, "good.test"), HasSubstr("hello"));
  EXPECT_THAT(fetch(*sandbox, fake::kOtherPublicServer), Not(HasSubstr("hello")));
  sandbox->set_egress({});
  EXPECT_THAT(fetch(*sandbox, fake::kPublicServer), HasSubstr("hello")) << "the rules still apply after --clear-net";
}

// Two sandboxes on hutch's network do not reach each other, even with a rule that allows the
// network's subnet: a server in one answers inside its own sandbox and not to its neighbour.
TEST_F(DockerEgressTest, SandboxesOnTheNetworkCannotReachEachOther) {
  auto server = bridge_sandbox();
  auto client = bridge_sandbox({{EgressAction::allow, egress::format_cidr(*config().egress_subnet)}});
  ExecRequest serve;
  serve.argv = {"sh", "-c", "while true; do echo hello-neighbour | nc -l -p 9000; done"};
  auto process = server->spawn(serve);
  const std::string address = sh(*server, "hostname -i").stdout_data.substr(0, sh(*server, "hostname -i").stdout_data.find_first_of(" \n"));
  std::string local;
  for (int i = 0; i < 50 && local.find("hello") == std::string::npos; ++i) {
    local = sh(*server, "timeout 3 nc -w 2 " + address + " 9000 </dev/null 2>&1").stdout_data;
    if (local.find("hello") == std::string::npos) std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  ASSERT_THAT(local, HasSubstr("hello-neighbour")) << "the server never listened on " << address;
  EXPECT_THAT(sh(*client, "timeout 5 nc -w 3 " + address + " 9000 </dev/null 2>&1; echo status=$?").stdout_data,
              Not(HasSubstr("hello"))) << "a sandbox reached its neighbour at " << address;
  EXPECT_THAT(fetch(*client, fake::kPublicServer), HasSubstr("hello"));
  process->kill();
}

TEST_F(DockerEgressTest, NothingIsLeftAfterAKilledCreatorAndPrune) {
  SandboxSpec spec = base_spec();
  spec.network = NetworkMode::bridge;
  spec.egress = {{EgressAction::allow, "good.test"}, {EgressAction::deny, "all"}};
  const std::string id =
      hutch::test::create_in_a_killed_creator([&] { return make_backend(config())->create(spec)->id(); });
  ASSERT_FALSE(id.empty() || id == "!") << "the creator could not create the sandbox";
  ASSERT_TRUE(table_exists());
  const auto pruned = backend_->prune(this_run(::testing::UnitTest::GetInstance()->current_test_info()->name()));
  EXPECT_THAT(pruned, ::testing::Contains(id));
  // TearDown checks that nothing is left: no lease, chain, resolver, table nor network.
}

}  // namespace
}  // namespace hutch::docker::test
