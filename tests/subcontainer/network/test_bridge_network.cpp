// `--network bridge` on real namespaces, veths, a bridge and nftables, against a fake
// internet (fake_internet.hpp): reachability through NAT, the default egress policy, and that
// nothing is left after destroy and after a creator killed with SIGKILL plus prune.
#include "bridge_fixture.hpp"
#include "cgroup.hpp"
#include "address_leases.hpp"
#include "network/instance_firewall.hpp"
#include "network/netlink.hpp"
#include "nftables.hpp"
#include "network/sandbox_firewall.hpp"
#include "runtime_fixture.hpp"
#include "sandbox_record.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <signal.h>
#include <sys/wait.h>

#include <chrono>
#include <cstring>
#include <set>
#include <thread>

namespace hutch::subcontainer::test {
namespace {
namespace fs = std::filesystem;
using ::testing::HasSubstr;
using ::testing::Not;

TEST_F(BridgeNetworkTest, ReachesThePublicServerThroughNat) {
  auto sandbox = create_bridge_sandbox();
  EXPECT_THAT(sh(*sandbox, "cat /proc/net/route").stdout_data, HasSubstr("eth0"));
  ASSERT_EQ(leases().size(), 1u);
  EXPECT_EQ(leases()[0].sandbox_id, sandbox->id());
  EXPECT_EQ(network::format_ipv4(leases()[0].address), "10.214.7.2") << "the first address after the gateway";
  EXPECT_TRUE(link_exists(kBridge));
  EXPECT_TRUE(link_exists(network::BridgeNetwork::host_link(sandbox->id())));
  EXPECT_THAT(fetch(*sandbox, kPublicServer), HasSubstr(std::string("hello ") + kPublicServer));
  // Masqueraded: the server saw the test namespace's address, not the sandbox's.
  EXPECT_THAT(internet_->server().peers(), ::testing::ElementsAre(kTestHostAddress));
}

TEST_F(BridgeNetworkTest, MetadataPrivateRangesAndTheHostAreBlockedByDefault) {
  // The servers are there and routed: the test namespace itself reaches each of them.
  TcpGreeter host_service(8080);
  for (const auto& address : kBlockedServers) {
    const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in to{};
    to.sin_family = AF_INET;
    to.sin_port = htons(kServerPort);
    to.sin_addr.s_addr = htonl(*network::parse_ipv4(address));
    EXPECT_EQ(::connect(fd, reinterpret_cast<sockaddr*>(&to), sizeof to), 0) << address << ": " << std::strerror(errno);
    // The greeting: the server has accepted and counted this connection before `checked`.
    char greeting[64] = {};
    EXPECT_GT(::read(fd, greeting, sizeof greeting - 1), 0) << address;
    ::close(fd);
  }
  const std::size_t checked = internet_->server().peers().size();
  auto sandbox = create_bridge_sandbox();
  ASSERT_THAT(fetch(*sandbox, kPublicServer), HasSubstr("hello")) << "the sandbox has no network at all";
  for (const auto& address : kBlockedServers)
    EXPECT_THAT(fetch(*sandbox, address), Not(HasSubstr("hello"))) << address << " is reachable from the sandbox";
  // The host, on its address in the subnet and on another of its addresses.
  EXPECT_THAT(fetch(*sandbox, kGateway, 8080), Not(HasSubstr("hello")));
  EXPECT_THAT(fetch(*sandbox, kTestHostAddress, 8080), Not(HasSubstr("hello")));
  EXPECT_EQ(internet_->server().peers().size(), checked + 1) << "only the public server should have been reached";
  EXPECT_TRUE(host_service.peers().empty()) << "the sandbox reached a service of the host";
}

// --deny-net all --allow-net 198.18.0.10: an allowlist of one server.
TEST_F(BridgeNetworkTest, AnAllowlistReachesOnlyWhatItAllows) {
  auto listed = create_bridge_sandbox({{EgressAction::allow, std::string(kPublicServer) + "/32"},
                                       {EgressAction::deny, "all"}});
  auto open = create_bridge_sandbox();
  EXPECT_THAT(fetch(*listed, kPublicServer), HasSubstr("hello"));
  EXPECT_THAT(fetch(*listed, kOtherPublicServer), Not(HasSubstr("hello")));
  // The rules are the sandbox's own: another sandbox on the bridge reaches both.
  EXPECT_THAT(fetch(*open, kOtherPublicServer), HasSubstr("hello"));
  const std::string listed_id = listed->id(), open_id = open->id();
  listed->destroy();
  open->destroy();
  expect_no_network_left(listed_id);
}

// The first matching rule wins over the default policy, in both directions.
TEST_F(BridgeNetworkTest, RulesComeBeforeTheDefaultPolicy) {
  auto sandbox = create_bridge_sandbox({{EgressAction::deny, std::string(kPublicServer) + "/32"},
                                        {EgressAction::allow, "169.254.169.254"},
                                        {EgressAction::allow, "198.18.0.0/24"}});
  EXPECT_THAT(fetch(*sandbox, "169.254.169.254"), HasSubstr("hello 169.254.169.254"));
  EXPECT_THAT(fetch(*sandbox, kPublicServer), Not(HasSubstr("hello")));
  EXPECT_THAT(fetch(*sandbox, kOtherPublicServer), HasSubstr("hello"));
  EXPECT_THAT(fetch(*sandbox, "10.99.0.10"), Not(HasSubstr("hello"))) << "the default policy no longer applies";
}

// A sandbox that may change its address (CAP_NET_ADMIN kept) and takes one that is not its
// lease gets nothing through: its port drops IPv4 and ARP from any other source address.
TEST_F(BridgeNetworkTest, ASandboxCannotSendFromAnotherAddress) {
  runtime_->config.keep_caps.push_back(*capability_from_name("net_admin"));
  auto sandbox = create_bridge_sandbox();
  ASSERT_THAT(fetch(*sandbox, kPublicServer), HasSubstr("hello"));
  const ExecResult moved = sh(*sandbox, std::string("ip=$(command -v ip || echo /usr/sbin/ip); "
                                                    "$ip addr flush dev eth0 && $ip addr add 10.214.7.200/24 dev eth0 && "
                                                    "$ip route add default via ") + kGateway + " && echo moved");
  ASSERT_EQ(moved.stdout_data, "moved\n") << moved.stderr_data;
  EXPECT_THAT(fetch(*sandbox, kPublicServer), Not(HasSubstr("hello")));
}

// Creates at once take distinct addresses (the leases' lock), and each sandbox works.
TEST_F(BridgeNetworkTest, ConcurrentCreatesGetDistinctAddresses) {
  constexpr int kSandboxes = 4;
  std::vector<std::shared_ptr<Handle>> sandboxes(kSandboxes);
  std::vector<std::thread> creators;
  for (int i = 0; i < kSandboxes; ++i)
    creators.emplace_back([&, i] {
      try {
        sandboxes[i] = create_bridge_sandbox();
      } catch (const std::exception& e) {
        ADD_FAILURE() << "create " << i << ": " << e.what();
      }
    });
  for (auto& creator : creators) creator.join();
  std::set<std::uint32_t> addresses;
  for (const auto& lease : leases()) addresses.insert(lease.address);
  EXPECT_EQ(addresses.size(), static_cast<std::size_t>(kSandboxes));
  for (auto& sandbox : sandboxes)
    if (sandbox) EXPECT_THAT(fetch(*sandbox, kPublicServer), HasSubstr("hello")) << sandbox->id();
  std::string last;
  for (auto& sandbox : sandboxes)
    if (sandbox) {
      last = sandbox->id();
      sandbox->destroy();
    }
  expect_no_network_left(last);
}

TEST_F(BridgeNetworkTest, DestroyLeavesNothing) {
  auto sandbox = create_bridge_sandbox();
  auto second = create_bridge_sandbox();
  const std::string id = sandbox->id();
  sandbox->destroy();
  EXPECT_FALSE(link_exists(network::BridgeNetwork::host_link(id)));
  EXPECT_TRUE(link_exists(kBridge)) << "the bridge went while a sandbox still uses it";
  EXPECT_TRUE(table_exists());
  EXPECT_THAT(fetch(*second, kPublicServer), HasSubstr("hello"));
  const std::string second_id = second->id();
  second->destroy();
  expect_no_network_left(second_id);
}

TEST_F(BridgeNetworkTest, StopAndStartKeepTheAddress) {
  auto sandbox = create_bridge_sandbox();
  const auto address = leases().at(0).address;
  sandbox->stop();
  EXPECT_FALSE(link_exists(network::BridgeNetwork::host_link(sandbox->id())));
  sandbox->start();
  ASSERT_EQ(leases().size(), 1u);
  EXPECT_EQ(leases()[0].address, address);
  EXPECT_THAT(fetch(*sandbox, kPublicServer), HasSubstr("hello"));
  const std::string id = sandbox->id();
  sandbox->destroy();
  expect_no_network_left(id);
}

// Sandboxes on one bridge do not reach each other: not by IP (the subnet is in 10.0.0.0/8, which
// the default denies, but bridged frames meet no inet rule) nor at layer 2 (their ports are
// isolated), while each still reaches the internet.
TEST_F(BridgeNetworkTest, SandboxesOnOneBridgeCannotReachEachOther) {
  auto server = create_bridge_sandbox();
  auto client = create_bridge_sandbox({{EgressAction::allow, kSubnet}});
  ExecRequest serve;
  serve.argv = {"sh", "-c", "while true; do echo hello-neighbour | busybox nc -l -p 9000; done"};
  auto process = server->spawn(serve);
  const auto server_address = runtime_->network->address_of(server->id());
  ASSERT_TRUE(server_address.has_value());
  // The server listens: it answers inside its own sandbox.
  std::string local;
  for (int i = 0; i < 50 && local.find("hello") == std::string::npos; ++i) {
    local = fetch(*server, network::format_ipv4(*server_address), 9000);
    if (local.find("hello") == std::string::npos) std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  ASSERT_THAT(local, HasSubstr("hello-neighbour")) << "the server in the first sandbox never listened";
  // Even with a rule that allows the subnet, the neighbour is out of reach.
  EXPECT_THAT(fetch(*client, network::format_ipv4(*server_address), 9000), Not(HasSubstr("hello")));
  EXPECT_THAT(sh(*client, "ping -c 1 -W 1 " + network::format_ipv4(*server_address) + " >/dev/null 2>&1; echo status=$?").stdout_data,
              Not(HasSubstr("status=0")));
  EXPECT_THAT(fetch(*client, kPublicServer), HasSubstr("hello"));
  process->kill();
}

// The table exists while any lease does, so a create on a bridge in use does not look for it
// (attach installs the sandbox's rules in one nft run): when it went anyway (an administrator's
// `nft flush ruleset`), the next create makes it again, and its sandbox gets the default policy.
TEST_F(BridgeNetworkTest, ACreateAfterTheTableWentMakesItAgain) {
  auto first = create_bridge_sandbox();
  {
    network::Nftables nft;
    network::remove_table(nft, runtime_->network->table());
  }
  ASSERT_FALSE(table_exists());
  auto second = create_bridge_sandbox();
  EXPECT_TRUE(table_exists());
  EXPECT_THAT(fetch(*second, kPublicServer), HasSubstr("hello"));
  EXPECT_THAT(fetch(*second, "169.254.169.254"), Not(HasSubstr("hello"))) << "the default policy is missing";
  const std::string id = second->id();
  first->destroy();
  second->destroy();
  expect_no_network_left(id);
}

// The creator of a bridge sandbox killed with SIGKILL: prune removes the sandbox (its owner is
// gone) and with it the address, the veth, the bridge and the table.
TEST_F(BridgeNetworkTest, PruneAfterTheCreatorWasKilledLeavesNothing) {
  SandboxSpec spec;
  spec.network = NetworkMode::bridge;
  const std::string id = create_in_a_killed_creator(spec);
  ASSERT_FALSE(id.empty()) << "the creator failed to create a bridge sandbox";
  ASSERT_EQ(leases().size(), 1u);
  EXPECT_TRUE(link_exists(network::BridgeNetwork::host_link(id)));
  const auto removed = backend_->prune(Filter{});
  EXPECT_THAT(removed, ::testing::Contains(id));
  expect_no_network_left(id);
}

// A hutch killed between taking an address and recording its sandbox (or one whose sandbox
// directory went by other means) leaves a lease of a sandbox that does not exist: prune
// frees it, and the bridge and table once nothing else holds an address.
TEST_F(BridgeNetworkTest, PruneReclaimsTheLeaseOfAVanishedSandbox) {
  auto sandbox = create_bridge_sandbox();
  const std::string id = sandbox->id();
  // What a crash leaves: the leader gone and the directory gone, no destroy.
  const SandboxRecord record = load_record(sandbox_paths(runtime_->config.sandboxes_dir, id).record, id);
  ASSERT_EQ(::kill(record.leader_pid, SIGKILL), 0);
  for (int i = 0; i < 200 && leader_alive(record); ++i) std::this_thread::sleep_for(std::chrono::milliseconds(10));
  SandboxCgroup(record.cgroup_version, record.cgroup_dirs, id).remove();
  fs::remove_all(sandbox_paths(runtime_->config.sandboxes_dir, id).dir);
  ASSERT_EQ(leases().size(), 1u);
  backend_->prune(Filter{});
  expect_no_network_left(id);
}

TEST(BridgeNetworkRules, DefaultPolicyDeniesTheIssuesRangesAndNotTheBenchmarkRange) {
  network::InstanceFirewall firewall{"hutch_0000", "hutch0", *network::parse_ipv4_cidr("10.213.0.0/16"), "x"};
  const std::string rules = network::instance_ruleset(firewall);
  for (const char* range : {"0.0.0.0/8", "10.0.0.0/8", "100.64.0.0/10", "127.0.0.0/8", "169.254.0.0/16",
                            "172.16.0.0/12", "192.168.0.0/16", "224.0.0.0/4", "240.0.0.0/4", "::1/128", "fc00::/7",
                            "fe80::/10", "ff00::/8"})
    EXPECT_THAT(rules, HasSubstr(range));
  EXPECT_THAT(rules, Not(HasSubstr("198.18")));
  EXPECT_THAT(rules, HasSubstr("ip saddr 10.213.0.0/16 oifname != \"hutch0\" masquerade"));
}

TEST(BridgeNetworkRules, EgressRulesBecomeStatementsInOrder) {
  EXPECT_THAT(network::egress_statements("abc", {{EgressAction::allow, "198.18.0.10/32"},
                                          {EgressAction::deny, "2001:db8::/32"},
                                          {EgressAction::deny, "all"}}),
              ::testing::ElementsAre("ip daddr 198.18.0.10/32 accept",
                                     "ip6 daddr 2001:db8::/32 reject with icmpv6 type admin-prohibited",
                                     "reject with icmpx type admin-prohibited"));
}

}  // namespace
}  // namespace hutch::subcontainer::test
