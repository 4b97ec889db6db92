// hutch's own errors: one "hutch: " line naming the bad value, exit 125, nothing on stdout.
#include "cli_fixture.hpp"

namespace hutch::test {
namespace {

using ErrorTest = HutchCliTest;

TEST_F(ErrorTest, BadMemorySize) {
  expect_hutch_error(hutch({"run", "--memory", "lots", "--", "echo", "hi"}), {"--memory", "lots"});
}

TEST_F(ErrorTest, BadMount) {
  expect_hutch_error(hutch({"create", "--mount", "type=bogus,dst=/x"}), {"--mount", "bogus"});
  expect_hutch_error(hutch({"create", "--mount", "type=tmpfs,dst=relative"}), {"relative"});
}

TEST_F(ErrorTest, BadDurationNetworkAndEnv) {
  expect_hutch_error(hutch({"run", "--timeout", "soon", "echo"}), {"--timeout", "soon"});
  expect_hutch_error(hutch({"create", "--ttl", "-5s"}), {"--ttl", "-5s"});
  expect_hutch_error(hutch({"create", "--network", "wifi"}), {"--network", "wifi"});
  expect_hutch_error(hutch({"create", "-e", "NOVALUE"}), {"--env", "NOVALUE"});
}

TEST_F(ErrorTest, BadEgressRules) {
  expect_hutch_error(hutch({"create", "--network", "bridge", "--allow-net", "10.0.0.1/8"}), {"10.0.0.1/8", "prefix"});
  expect_hutch_error(hutch({"create", "--network", "bridge", "--deny-net", "everything"}), {"everything"});
  expect_hutch_error(hutch({"create", "--deny-net", "all"}), {"bridge", "none"});
}

// The rules keep the order they were given in, across both options (the first match wins):
// the message numbers the bad rule by its place among all of them.
TEST_F(ErrorTest, EgressRulesKeepTheirCommandLineOrder) {
  expect_hutch_error(hutch({"create", "--network", "bridge", "--allow-net", "198.18.0.0/15", "--deny-net", "all",
                            "--allow-net", "bad..example"}),
                     {"egress rule 3 (allow)", "bad..example"});
  expect_hutch_error(hutch({"create", "--network", "bridge", "--deny-net", "10.0.0.0/8", "--allow-net", "bad..example",
                            "--deny-net", "all"}),
                     {"egress rule 2 (allow)", "bad..example"});
}

// hutch update's egress options: a bad value is named with its option, and a refused update
// changes nothing. (The fake's sandboxes have network "none".)
TEST_F(ErrorTest, BadEgressUpdates) {
  const std::string id = create();
  expect_hutch_error(hutch({"update", id, "--allow-net", "10.0.0.1/8"}), {"--allow-net", "'10.0.0.1/8'", "prefix"});
  expect_hutch_error(hutch({"update", id, "--deny-net", "10.0.0.0/8", "--deny-net", "everything"}),
                     {"--deny-net", "'everything'"});
  expect_hutch_error(hutch({"update", id, "--clear-net", "--deny-net", "all"}), {"--clear-net", "--deny-net"});
  expect_hutch_error(hutch({"update", id, "--deny-net", "all"}), {id, "bridge", "none"});
  const HutchResult cleared = hutch({"update", id, "--clear-net"});
  EXPECT_EQ(cleared.exit_code, 0) << "no rules suit any network: " << cleared.err;
}

TEST_F(ErrorTest, UnknownBackend) {
  expect_hutch_error(hutch({"--backend", "no-such-backend", "ls"}), {"no-such-backend"});
}

TEST_F(ErrorTest, MissingArguments) {
  expect_hutch_error(hutch({"inspect"}), {"ID"});
  expect_hutch_error(hutch({"exec"}), {"ID"});
  expect_hutch_error(hutch({"run"}), {"no command given"});
  expect_hutch_error(hutch({"cp", "only-one"}), {"DST"});
}

TEST_F(ErrorTest, UnknownVerbAndOption) {
  expect_hutch_error(hutch({"frobnicate"}), {"frobnicate"});
  expect_hutch_error(hutch({"ls", "--frobnicate"}), {"--frobnicate"});
  expect_hutch_error(hutch({}), {});
}

TEST_F(ErrorTest, BadConfigFileNamesFileAndKey) {
  write_config("memroy = \"1g\"");
  const HutchResult result = hutch({"ls"});
  expect_hutch_error(result, {config().string(), "memroy"});
  expect_hutch_error(run_hutch({"--config", (dir() / "absent.toml").string(), "ls"}), {"absent.toml"});
}

TEST_F(ErrorTest, BadLogLevel) { expect_hutch_error(hutch({"--log-level", "loud", "ls"}), {"loud"}); }

TEST_F(ErrorTest, HelpExitsZeroOnStdout) {
  const HutchResult help = hutch({"--help"});
  EXPECT_EQ(help.exit_code, 0);
  EXPECT_NE(help.out.find("run"), std::string::npos) << help.out;
  EXPECT_NE(help.out.find("--backend"), std::string::npos) << help.out;
  EXPECT_EQ(help.err, "");

  const HutchResult run_help = hutch({"run", "--help"});
  EXPECT_EQ(run_help.exit_code, 0);
  EXPECT_NE(run_help.out.find("--timeout"), std::string::npos) << run_help.out;
}

// The limited plugin is the fake without fork, snapshot, pause, stats, stdin and set_egress.
class UnsupportedTest : public HutchCliTest {
 protected:
  HutchResult limited(std::vector<std::string> args, const std::string& input = {}) {
    args.insert(args.begin(), {"--backend", kLimitedPlugin.string()});
    return hutch(args, input);
  }
};

TEST_F(UnsupportedTest, VerbTheBackendLacksIsNamed) {
  const HutchResult created = limited({"create"});
  ASSERT_EQ(created.exit_code, 0) << created.err;
  std::string id = created.out;
  ASSERT_FALSE(id.empty());
  id.pop_back();

  for (const std::string verb : {"fork", "pause", "unpause", "stats", "snapshot"})
    expect_hutch_error(limited({verb, id}), {"does not support " + verb, "cli-limited"});
  expect_hutch_error(limited({"exec", "-i", id, "cat"}), {"does not support stdin", "cli-limited"});
  expect_hutch_error(limited({"run", "-i", "cat"}), {"does not support stdin"});
  expect_hutch_error(limited({"update", id, "--clear-net"}), {"does not support update --allow-net/--deny-net/--clear-net (set_egress)", "cli-limited"});

  // What it has still works through the same plugin.
  EXPECT_EQ(limited({"exec", id, "echo", "fine"}).out, "fine\n");
}

TEST_F(UnsupportedTest, CreateIsRefusedWhenSandboxesDoNotOutliveHutch) {
  write_config("", "[backends.cli-limited]\npersistent = false\n");
  expect_hutch_error(limited({"create"}), {"does not support create", "cli-limited", "hutch run"});
  EXPECT_TRUE(listed_ids().empty());
  // run needs no persistence.
  EXPECT_EQ(limited({"run", "echo", "ok"}).out, "ok\n");
}

}  // namespace
}  // namespace hutch::test
