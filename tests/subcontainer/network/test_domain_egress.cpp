// Domain rules and the sandbox's own resolver (issue 19 item 3), against the fake internet and
// its DNS server (fake_dns.hpp: good.test -> 198.18.0.10, a.good.test and other.test ->
// 198.18.0.20), which is every test's upstream_dns: an allowed name resolves and is
// reachable, a name the rules do not allow does not resolve and the address behind it stays
// closed, "*." matches the names below, DNS to any other server is blocked, a change on a
// live sandbox applies to new lookups, and the resolver, its policy files and the sets go
// with the last sandbox.
#include "bridge_fixture.hpp"
#include "dns_policy.hpp"
#include "network/sandbox_firewall.hpp"
#include "sandbox_record.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <signal.h>
#include <sys/socket.h>

#include <algorithm>
#include <chrono>
#include <thread>

namespace hutch::subcontainer::test {
namespace {
using ::testing::HasSubstr;
using ::testing::Not;

class DomainEgressTest : public BridgeNetworkTest {
 protected:
  // What getaddrinfo in the sandbox makes of `name` (through its /etc/resolv.conf), and its
  // exit status: "198.18.0.10 ... status=0", or "status=2" for a name that does not resolve.
  std::string resolve(Handle& sandbox, const std::string& name) {
    return sh(sandbox, "getent ahostsv4 " + name + "; echo status=$?").stdout_data;
  }
  std::string listed_table() {
    network::Nftables nft;
    return nft.run("list table inet " + runtime_->network->table() + "\n", "list the instance table");
  }
  bool asked_upstream(const std::string& name) {
    const auto names = internet_->dns().names_asked();
    return std::find(names.begin(), names.end(), name) != names.end();
  }
};

TEST_F(DomainEgressTest, AnAllowedDomainResolvesThroughTheSandboxsResolverAndIsReachable) {
  auto sandbox = create_bridge_sandbox({{EgressAction::allow, "good.test"}, {EgressAction::deny, "all"}});
  EXPECT_EQ(sh(*sandbox, "cat /etc/resolv.conf").stdout_data, std::string("nameserver ") + kGateway + "\n");
  EXPECT_THAT(resolve(*sandbox, "good.test"), HasSubstr(std::string(kPublicServer) + " "));
  EXPECT_TRUE(asked_upstream("good.test")) << "the name was not forwarded to upstream_dns";
  EXPECT_THAT(fetch(*sandbox, "good.test"), HasSubstr(std::string("hello ") + kPublicServer));
  // The answer's address is in the rule's set for its TTL, held to at least 10 s.
  const std::string set = network::domain_set_name(sandbox->id(), 0, {EgressAction::allow, "good.test"}, 4);
  EXPECT_THAT(listed_table(), HasSubstr("set " + set));
  EXPECT_THAT(listed_table(), HasSubstr(std::string(kPublicServer) + " timeout 10s"));
}

// --deny-net all --allow-net good.test: an allowlist by name.
TEST_F(DomainEgressTest, AnAllowlistByDomainRefusesOtherNamesAndTheAddressesBehindThem) {
  auto sandbox = create_bridge_sandbox({{EgressAction::allow, "good.test"}, {EgressAction::deny, "all"}});
  // Before its name was resolved, an allowed name's address is as closed as any other.
  EXPECT_THAT(fetch(*sandbox, kPublicServer), Not(HasSubstr("hello")));
  EXPECT_THAT(resolve(*sandbox, "other.test"), HasSubstr("status=2")) << "a name the rules do not allow resolved";
  EXPECT_FALSE(asked_upstream("other.test")) << "a refused name was forwarded upstream";
  EXPECT_THAT(fetch(*sandbox, "other.test"), Not(HasSubstr("hello")));
  EXPECT_THAT(fetch(*sandbox, kOtherPublicServer), Not(HasSubstr("hello"))) << "the IP literal of a host not allowed passed";
  EXPECT_THAT(fetch(*sandbox, "good.test"), HasSubstr("hello"));
  EXPECT_THAT(fetch(*sandbox, kOtherPublicServer), Not(HasSubstr("hello")));
}

TEST_F(DomainEgressTest, AWildcardMatchesTheNamesBelowItAndNotTheNameItself) {
  auto sandbox = create_bridge_sandbox({{EgressAction::allow, "*.good.test"}, {EgressAction::deny, "all"}});
  EXPECT_THAT(resolve(*sandbox, "A.Good.Test"), HasSubstr(std::string(kOtherPublicServer) + " "));
  EXPECT_THAT(fetch(*sandbox, "a.good.test"), HasSubstr(std::string("hello ") + kOtherPublicServer));
  EXPECT_THAT(resolve(*sandbox, "good.test"), HasSubstr("status=2")) << "*.good.test matched good.test itself";
  EXPECT_THAT(fetch(*sandbox, kPublicServer), Not(HasSubstr("hello")));
  // A start installs the rules again over the sets the stop left.
  sandbox->stop();
  sandbox->start();
  EXPECT_THAT(fetch(*sandbox, "a.good.test"), HasSubstr(std::string("hello ") + kOtherPublicServer));
}

// Address rules speak of addresses: with an allowlist of addresses, a name resolves when an
// address of its answer is allowed.
TEST_F(DomainEgressTest, AnAllowlistOfAddressesResolvesTheNamesThatLeadThere) {
  auto sandbox = create_bridge_sandbox({{EgressAction::allow, std::string(kPublicServer) + "/32"},
                                        {EgressAction::deny, "all"}});
  EXPECT_THAT(resolve(*sandbox, "good.test"), HasSubstr(std::string(kPublicServer) + " "));
  EXPECT_THAT(fetch(*sandbox, "good.test"), HasSubstr("hello"));
  EXPECT_THAT(resolve(*sandbox, "other.test"), HasSubstr("status=2"));
  // A domain rule that denies is the resolver's: its names do not resolve.
  auto open = create_bridge_sandbox({{EgressAction::deny, "other.test"}});
  EXPECT_THAT(resolve(*open, "other.test"), HasSubstr("status=2"));
  EXPECT_THAT(resolve(*open, "good.test"), HasSubstr(std::string(kPublicServer) + " ")) << "no rule: the default answers";
}

TEST_F(DomainEgressTest, DnsToAnyOtherServerIsBlocked) {
  auto sandbox = create_bridge_sandbox();  // the default policy: 198.18.0.53 is public
  ASSERT_THAT(resolve(*sandbox, "good.test"), HasSubstr(kPublicServer)) << "the sandbox's own resolver does not answer";
  // The fake server takes TCP connections on 53 (the test's own namespace reaches it)...
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in to{};
  to.sin_family = AF_INET;
  to.sin_port = htons(53);
  to.sin_addr.s_addr = htonl(*network::parse_ipv4(kFakeDnsServer));
  EXPECT_EQ(::connect(fd, reinterpret_cast<sockaddr*>(&to), sizeof to), 0);
  ::close(fd);
  // ...not from the sandbox, on 53 or 853 (DNS over TLS), and its datagrams never arrive.
  for (int port : {53, 853}) {
    const std::string tried = sh(*sandbox, "timeout 5 bash -c 'exec 3<>/dev/tcp/" + std::string(kFakeDnsServer) + "/" +
                                               std::to_string(port) + "' 2>&1; echo status=$?")
                                  .stdout_data;
    EXPECT_THAT(tried, Not(HasSubstr("status=0"))) << "port " << port;
    EXPECT_THAT(tried, Not(HasSubstr("status=124"))) << "port " << port << ": dropped, not refused";
  }
  sh(*sandbox, std::string("bash -c 'for i in 1 2 3; do echo hutch-probe > /dev/udp/") + kFakeDnsServer + "/53; done' " +
                   "2>/dev/null; busybox nslookup other.test " + kFakeDnsServer + " >/dev/null 2>&1; true");
  // The resolver's own queries go out meanwhile: the probes had their chance to arrive.
  ASSERT_THAT(resolve(*sandbox, "other.test"), HasSubstr(kOtherPublicServer));
  for (const auto& datagram : internet_->dns().datagrams())
    EXPECT_THAT(datagram, Not(HasSubstr("hutch-probe"))) << "a datagram of the sandbox reached another DNS server";
  const auto names = internet_->dns().names_asked();
  EXPECT_EQ(std::count(names.begin(), names.end(), "other.test"), 1) << "busybox's own query reached the server";
}

TEST_F(DomainEgressTest, APolicyChangeOnALiveSandboxAppliesToNewLookups) {
  auto sandbox = create_bridge_sandbox({{EgressAction::allow, "good.test"}, {EgressAction::deny, "all"}});
  ASSERT_THAT(fetch(*sandbox, "good.test"), HasSubstr("hello"));
  sandbox->set_egress({{EgressAction::allow, "other.test"}, {EgressAction::deny, "all"}});
  EXPECT_THAT(resolve(*sandbox, "good.test"), HasSubstr("status=2")) << "the old rule still answers";
  EXPECT_THAT(fetch(*sandbox, kPublicServer), Not(HasSubstr("hello"))) << "the old rule's addresses stayed open";
  EXPECT_THAT(fetch(*sandbox, "other.test"), HasSubstr(std::string("hello ") + kOtherPublicServer));

  // A rule that stays (same text, same place) keeps what it learned.
  sandbox->set_egress({{EgressAction::allow, "other.test"}, {EgressAction::deny, "good.test"}, {EgressAction::deny, "all"}});
  EXPECT_THAT(fetch(*sandbox, kOtherPublicServer), HasSubstr("hello"));
  sandbox->set_egress({});
  EXPECT_THAT(resolve(*sandbox, "good.test"), HasSubstr(kPublicServer)) << "no rules: the default answers every name";
  EXPECT_THAT(listed_table(), Not(HasSubstr(network::domain_set_prefix(sandbox->id(), 4)))) << "a set outlived its rule";
}

TEST_F(DomainEgressTest, TheResolverItsFilesAndTheSetsGoWithTheSandboxes) {
  auto first = create_bridge_sandbox({{EgressAction::allow, "good.test"}, {EgressAction::deny, "all"}});
  auto second = create_bridge_sandbox({{EgressAction::allow, "*.good.test"}});
  const auto pid = runtime_->network->resolver().running();
  ASSERT_TRUE(pid.has_value()) << "no resolver runs";
  EXPECT_EQ(runtime_->network->resolver().running(), pid) << "the second sandbox started another resolver";
  ASSERT_THAT(resolve(*first, "good.test"), HasSubstr(kPublicServer));
  const std::string first_id = first->id();
  first->destroy();
  EXPECT_THAT(listed_table(), Not(HasSubstr(network::domain_set_prefix(first_id, 4))));
  EXPECT_THAT(listed_table(), HasSubstr(network::domain_set_prefix(second->id(), 4)));
  EXPECT_THAT(resolve(*second, "a.good.test"), HasSubstr(kOtherPublicServer)) << "the resolver went with a sandbox";
  const std::string second_id = second->id();
  second->destroy();
  EXPECT_EQ(process_start_time(*pid), 0u) << "the resolver process is left";
  expect_no_network_left(second_id);
}

// The resolver outlives the process that started it (a detached sandbox's) and is found again
// after a crash: killed, the next create starts it again, and the last destroy stops that one.
TEST_F(DomainEgressTest, ADeadResolverIsStartedAgain) {
  auto sandbox = create_bridge_sandbox();
  const auto pid = runtime_->network->resolver().running();
  ASSERT_TRUE(pid.has_value());
  ASSERT_EQ(::kill(*pid, SIGKILL), 0);
  for (int i = 0; i < 200 && process_start_time(*pid) != 0; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(5));
  backend_->prune(Filter{});
  EXPECT_TRUE(runtime_->network->resolver().running().has_value()) << "prune left the sandbox without a resolver";
  EXPECT_THAT(resolve(*sandbox, "good.test"), HasSubstr(kPublicServer));
  const std::string id = sandbox->id();
  sandbox->destroy();
  expect_no_network_left(id);
}

TEST(DomainRules, NamesAreJudgedByTheFirstRuleThatSpeaksOfThem) {
  using network::judge_name;
  using Kind = network::NameVerdict::Kind;
  const std::vector<EgressRule> rules{{EgressAction::deny, "bad.good.test"},
                                      {EgressAction::allow, "*.good.test"},
                                      {EgressAction::allow, "198.18.0.0/15"},
                                      {EgressAction::deny, "all"}};
  EXPECT_EQ(judge_name(rules, "bad.good.test.").kind, Kind::refuse);
  EXPECT_EQ(judge_name(rules, "a.b.good.test").kind, Kind::answer);
  EXPECT_EQ(judge_name(rules, "a.b.good.test").rule, 1u);
  EXPECT_EQ(judge_name(rules, "good.test").kind, Kind::answer_if_address_allowed);
  EXPECT_EQ(judge_name(rules, "good.test").deny_all, 3u);
  EXPECT_EQ(judge_name({{EgressAction::deny, "all"}, {EgressAction::allow, "good.test"}}, "good.test").kind, Kind::refuse);
  EXPECT_EQ(judge_name({{EgressAction::deny, "10.0.0.0/8"}}, "good.test").kind, Kind::answer);
  EXPECT_EQ(judge_name({}, "good.test").rule, std::nullopt);
  const unsigned char inside[4] = {198, 19, 1, 1}, outside[4] = {203, 0, 113, 7};
  EXPECT_TRUE(network::address_allowed_before(rules, 3, inside, 4));
  EXPECT_FALSE(network::address_allowed_before(rules, 3, outside, 4));
}

TEST(DomainRules, AnAllowingDomainRuleBecomesLookupsInItsSetsAndADenyingOneNothing) {
  const std::vector<EgressRule> rules{{EgressAction::deny, "bad.test"}, {EgressAction::allow, "*.good.test"}};
  const std::string set4 = network::domain_set_name("abc", 1, rules[1], 4);
  const std::string set6 = network::domain_set_name("abc", 1, rules[1], 6);
  EXPECT_THAT(network::egress_statements("abc", rules),
              ::testing::ElementsAre("ip daddr @" + set4 + " ip daddr != @denied_v4 fib daddr type != local accept",
                                     "ip6 daddr @" + set6 + " ip6 daddr != @denied_v6 fib daddr type != local accept"));
  const network::SandboxFirewall sandbox{"hutch_0000", "abc", "hvabc", (10u << 24) | (213u << 16) | 2u};
  // A change keeps the sets of the rules that stay and deletes the others.
  const std::string stale = network::domain_set_name("abc", 0, {EgressAction::allow, "old.test"}, 4);
  const std::string replaced = network::egress_ruleset(sandbox, rules, {set4, stale});
  EXPECT_THAT(replaced, HasSubstr("delete set inet hutch_0000 " + stale + "\n"));
  EXPECT_THAT(replaced, Not(HasSubstr("delete set inet hutch_0000 " + set4)));
  EXPECT_THAT(replaced, HasSubstr("add set inet hutch_0000 " + set6 + " { type ipv6_addr; flags timeout; }\n"));
  EXPECT_NE(set4, network::domain_set_name("abc", 1, {EgressAction::allow, "*.other.test"}, 4))
      << "another rule in the same place must get other sets";
}

}  // namespace
}  // namespace hutch::subcontainer::test
