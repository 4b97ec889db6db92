// Handle::set_egress and `hutch update --allow-net/--deny-net` on a running bridge sandbox
// (issue 19: "the policy can change on a running sandbox"), against the fake internet: a
// server the sandbox reaches becomes unreachable for new connections once a rule denies it,
// and reachable again once the rule goes; the rules are kept with the sandbox (stop/start,
// another process); rules for another network are refused.
#include "bridge_fixture.hpp"
#include "file_lock.hpp"
#include "network/sandbox_firewall.hpp"
#include "sandbox_record.hpp"

#include "../../cli/hutch_runner.hpp"

#include <hutch/error.hpp>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <fstream>
#include <optional>
#include <thread>

namespace hutch::subcontainer::test {
namespace {
using ::testing::HasSubstr;
using ::testing::Not;

const std::string kPublicServerOnly = std::string(kPublicServer) + "/32";

class LiveEgressTest : public BridgeNetworkTest {
 protected:
  // The sandbox's rules as its record on disk holds them (what any other process reads).
  std::vector<EgressRule> recorded_egress(const std::string& id) {
    return load_record(sandbox_paths(runtime_->config.sandboxes_dir, id).record, id).spec.egress;
  }
  // The instance table as nft lists it.
  std::string listed_table() {
    network::Nftables nft;
    return nft.run("list table inet " + runtime_->network->table() + "\n", "list the instance table");
  }
};

TEST_F(LiveEgressTest, ADenyRuleTakesEffectOnARunningSandboxAndItsRemovalUndoesIt) {
  auto sandbox = create_bridge_sandbox();
  ASSERT_THAT(fetch(*sandbox, kPublicServer), HasSubstr(std::string("hello ") + kPublicServer));

  sandbox->set_egress({{EgressAction::deny, kPublicServerOnly}});
  EXPECT_THAT(fetch(*sandbox, kPublicServer), Not(HasSubstr("hello"))) << "a new connection passed the new deny rule";
  EXPECT_THAT(fetch(*sandbox, kOtherPublicServer), HasSubstr("hello")) << "the rule denied more than its destination";
  EXPECT_THAT(sandbox->spec().egress, ::testing::ElementsAre(EgressRule{EgressAction::deny, kPublicServerOnly}));
  EXPECT_THAT(listed_table(), HasSubstr("egress_" + sandbox->id()));

  sandbox->set_egress({});
  EXPECT_THAT(fetch(*sandbox, kPublicServer), HasSubstr("hello")) << "the rule still applies after it was removed";
  EXPECT_TRUE(sandbox->spec().egress.empty());
  EXPECT_TRUE(recorded_egress(sandbox->id()).empty());
  EXPECT_THAT(listed_table(), Not(HasSubstr("egress_" + sandbox->id()))) << "no rules: no chain of its own";
}

// An allowlist made live, then widened: each set of rules replaces the last one whole, and the
// default policy still follows them.
TEST_F(LiveEgressTest, EachChangeReplacesTheRulesAndTheDefaultPolicyStaysAfterThem) {
  auto sandbox = create_bridge_sandbox({{EgressAction::deny, kPublicServerOnly}});
  ASSERT_THAT(fetch(*sandbox, kPublicServer), Not(HasSubstr("hello")));

  sandbox->set_egress({{EgressAction::allow, kPublicServerOnly}, {EgressAction::deny, "all"}});
  EXPECT_THAT(fetch(*sandbox, kPublicServer), HasSubstr("hello")) << "the old deny rule is left";
  EXPECT_THAT(fetch(*sandbox, kOtherPublicServer), Not(HasSubstr("hello"))) << "the allowlist does not hold";

  sandbox->set_egress({{EgressAction::allow, "198.18.0.0/24"}});
  EXPECT_THAT(fetch(*sandbox, kOtherPublicServer), HasSubstr("hello")) << "deny all is left";
  EXPECT_THAT(fetch(*sandbox, "169.254.169.254"), Not(HasSubstr("hello"))) << "the default policy no longer follows the rules";
  EXPECT_THAT(recorded_egress(sandbox->id()), ::testing::ElementsAre(EgressRule{EgressAction::allow, "198.18.0.0/24"}));
}

// The changed rules are the sandbox's from then on: a stop and start keeps them, rules changed
// while it is stopped apply when it starts, and another backend (process) resuming it sees them.
TEST_F(LiveEgressTest, ChangedRulesHoldAcrossStopAndStart) {
  auto sandbox = create_bridge_sandbox();
  sandbox->set_egress({{EgressAction::deny, kPublicServerOnly}});
  sandbox->stop();
  sandbox->start();
  EXPECT_THAT(fetch(*sandbox, kPublicServer), Not(HasSubstr("hello"))) << "start brought back the rules of create";
  EXPECT_THAT(fetch(*sandbox, kOtherPublicServer), HasSubstr("hello"));

  sandbox->stop();
  sandbox->set_egress({{EgressAction::deny, std::string(kOtherPublicServer) + "/32"}});
  sandbox->start();
  EXPECT_THAT(fetch(*sandbox, kPublicServer), HasSubstr("hello"));
  EXPECT_THAT(fetch(*sandbox, kOtherPublicServer), Not(HasSubstr("hello"))) << "a change while stopped was lost";

  auto other = std::make_shared<SubcontainerBackend>(make_runtime(runtime_->config, hutch::logger()));
  EXPECT_THAT(other->resume(sandbox->id())->spec().egress,
              ::testing::ElementsAre(EgressRule{EgressAction::deny, std::string(kOtherPublicServer) + "/32"}));
  const std::string id = sandbox->id();
  sandbox->destroy();
  expect_no_network_left(id);
}

// Rules that cannot apply change nothing: a sandbox of another network, a bad destination.
TEST_F(LiveEgressTest, RulesForAnotherNetworkOrWithABadDestinationAreRefused) {
  SandboxSpec spec;  // network none
  auto unnetworked = backend_->create(spec);
  try {
    unnetworked->set_egress({{EgressAction::deny, "all"}});
    ADD_FAILURE() << "set_egress on a sandbox of network none did not throw";
  } catch (const Error& error) {
    EXPECT_EQ(error.code(), Errc::invalid_argument);
    EXPECT_THAT(error.what(), HasSubstr(unnetworked->id()));
    EXPECT_THAT(error.what(), HasSubstr("need network \"bridge\"; network is \"none\""));
  }
  EXPECT_TRUE(recorded_egress(unnetworked->id()).empty());

  auto sandbox = create_bridge_sandbox({{EgressAction::deny, kPublicServerOnly}});
  try {
    sandbox->set_egress({{EgressAction::allow, "198.18.0.0/24"}, {EgressAction::deny, "10.0.0.1/8"}});
    ADD_FAILURE() << "a destination with host bits set was accepted";
  } catch (const Error& error) {
    EXPECT_EQ(error.code(), Errc::invalid_argument);
    EXPECT_THAT(error.what(), HasSubstr("egress rule 2 (deny)"));
  }
  EXPECT_THAT(fetch(*sandbox, kPublicServer), Not(HasSubstr("hello"))) << "a refused change changed the rules";
  EXPECT_THAT(recorded_egress(sandbox->id()), ::testing::ElementsAre(EgressRule{EgressAction::deny, kPublicServerOnly}));
}

// Two changes at once, from two handles (as two processes would): the record and the kernel
// end up with the same rules, those of whichever came last.
TEST_F(LiveEgressTest, ConcurrentChangesLeaveTheRecordAndTheKernelAgreeing) {
  auto sandbox = create_bridge_sandbox();
  auto second = backend_->resume(sandbox->id());
  const std::vector<EgressRule> deny{{EgressAction::deny, kPublicServerOnly}};
  for (int round = 0; round < 5; ++round) {
    std::thread a([&] { sandbox->set_egress(deny); });
    std::thread b([&] { second->set_egress({}); });
    a.join();
    b.join();
    const bool denied = !recorded_egress(sandbox->id()).empty();
    EXPECT_EQ(listed_table().find("egress_" + sandbox->id()) != std::string::npos, denied) << "round " << round;
    EXPECT_EQ(fetch(*sandbox, kPublicServer).find("hello") == std::string::npos, denied) << "round " << round;
  }
}

// A change waits while another process holds the sandbox's record (as stop, start and
// set_lifetime do), so that neither overwrites the other's.
TEST_F(LiveEgressTest, AChangeWaitsForTheRecordsLock) {
  using namespace std::chrono_literals;
  auto sandbox = create_bridge_sandbox();
  auto observer = backend_->resume(sandbox->id());  // commands from another handle meanwhile
  std::optional<FileLock> held;
  held.emplace(sandbox_paths(runtime_->config.sandboxes_dir, sandbox->id()).record_lock);
  std::atomic<bool> changed{false};
  std::thread change([&] {
    sandbox->set_egress({{EgressAction::deny, kPublicServerOnly}});
    changed = true;
  });
  std::this_thread::sleep_for(300ms);
  EXPECT_FALSE(changed) << "the rules changed while another process held the record";
  EXPECT_THAT(fetch(*observer, kPublicServer), HasSubstr("hello"));
  held.reset();
  change.join();
  EXPECT_TRUE(changed);
  EXPECT_THAT(fetch(*observer, kPublicServer), Not(HasSubstr("hello")));
}

// `hutch update` as a user runs it: a process of its own on the same state dir.
class UpdateCommandTest : public LiveEgressTest {
 protected:
  hutch::test::HutchResult hutch(std::vector<std::string> args) {
    const auto config = state_dir_ / "hutch.toml";
    std::ofstream(config) << "[defaults]\nbackend = \"subcontainer\"\nstate_dir = \"" << state_dir_.string()
                          << "\"\n[plugins]\npaths = [\"" << HUTCH_PLUGIN_OUTPUT_DIR << "\"]\n"
                          << "[backends.subcontainer]\ncgroup_root = \"hutch-test\"\nbridge = \"" << kBridge
                          << "\"\nbridge_subnet = \"" << kSubnet << "\"\nhelper = \"" << HUTCH_SUBCONTAINER_HELPER
                          << "\"\nresolver = \"" << HUTCH_SUBCONTAINER_RESOLVER << "\"\nupstream_dns = [\"" << kFakeDnsServer
                          << "\"]\n";
    args.insert(args.begin(), {"--config", config.string()});
    return hutch::test::run_hutch(args);
  }
};

TEST_F(UpdateCommandTest, AllowAndDenyNetChangeARunningSandbox) {
  auto sandbox = create_bridge_sandbox();
  ASSERT_THAT(fetch(*sandbox, kPublicServer), HasSubstr("hello"));
  auto updated = hutch({"update", sandbox->id(), "--allow-net", kOtherPublicServer, "--deny-net", "all"});
  ASSERT_EQ(updated.exit_code, 0) << updated.err;
  EXPECT_THAT(fetch(*sandbox, kPublicServer), Not(HasSubstr("hello")));
  EXPECT_THAT(fetch(*sandbox, kOtherPublicServer), HasSubstr("hello"));
  const auto inspected = hutch({"inspect", sandbox->id(), "--json"});
  EXPECT_THAT(inspected.out, HasSubstr(R"("egress":[{"action":"allow","destination":"198.18.0.20"},{"action":"deny","destination":"all"}])"))
      << inspected.err;

  updated = hutch({"update", sandbox->id(), "--clear-net"});
  ASSERT_EQ(updated.exit_code, 0) << updated.err;
  EXPECT_THAT(fetch(*sandbox, kPublicServer), HasSubstr("hello"));
  EXPECT_TRUE(recorded_egress(sandbox->id()).empty());

  updated = hutch({"update", sandbox->id(), "--deny-net", "198.18.0.10/8"});
  EXPECT_EQ(updated.exit_code, 125);
  EXPECT_THAT(updated.err, HasSubstr("--deny-net: '198.18.0.10/8' has bits set past its prefix length"));
  EXPECT_THAT(fetch(*sandbox, kPublicServer), HasSubstr("hello")) << "a refused update changed the rules";
}

TEST(BridgeNetworkRules, ReplacingTheEgressRulesIsOneBatchThatLeavesThePortChainAlone) {
  const network::SandboxFirewall sandbox{"hutch_0000", "abc", "hvabc", (10u << 24) | (213u << 16) | 2u};
  const std::string replaced = network::egress_ruleset(sandbox, {{EgressAction::deny, "all"}});
  EXPECT_THAT(replaced, HasSubstr("delete chain inet hutch_0000 egress_abc\n"
                                  "add chain inet hutch_0000 egress_abc\n"
                                  "add rule inet hutch_0000 egress_abc reject with icmpx type admin-prohibited\n"
                                  "add element inet hutch_0000 sandbox_egress { 10.213.0.2 : jump egress_abc }\n"));
  EXPECT_THAT(replaced, Not(HasSubstr("port_abc")));
  const std::string cleared = network::egress_ruleset(sandbox, {});
  EXPECT_THAT(cleared, Not(HasSubstr("add rule")));
  EXPECT_THAT(cleared, HasSubstr("delete element inet hutch_0000 sandbox_egress"));
}

}  // namespace
}  // namespace hutch::subcontainer::test
