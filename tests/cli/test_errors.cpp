// sbx's own errors: one "sbx: " line naming the bad value, exit 125, nothing on stdout.
#include "cli_fixture.hpp"

namespace sbx::test {
namespace {

using ErrorTest = SbxCliTest;

TEST_F(ErrorTest, BadMemorySize) {
  expect_sbx_error(sbx({"run", "--memory", "lots", "--", "echo", "hi"}), {"--memory", "lots"});
}

TEST_F(ErrorTest, BadMount) {
  expect_sbx_error(sbx({"create", "--mount", "type=bogus,dst=/x"}), {"--mount", "bogus"});
  expect_sbx_error(sbx({"create", "--mount", "type=tmpfs,dst=relative"}), {"relative"});
}

TEST_F(ErrorTest, BadDurationNetworkAndEnv) {
  expect_sbx_error(sbx({"run", "--timeout", "soon", "echo"}), {"--timeout", "soon"});
  expect_sbx_error(sbx({"create", "--ttl", "-5s"}), {"--ttl", "-5s"});
  expect_sbx_error(sbx({"create", "--network", "wifi"}), {"--network", "wifi"});
  expect_sbx_error(sbx({"create", "-e", "NOVALUE"}), {"--env", "NOVALUE"});
}

TEST_F(ErrorTest, UnknownBackend) {
  expect_sbx_error(sbx({"--backend", "no-such-backend", "ls"}), {"no-such-backend"});
}

TEST_F(ErrorTest, MissingArguments) {
  expect_sbx_error(sbx({"inspect"}), {"ID"});
  expect_sbx_error(sbx({"exec"}), {"ID"});
  expect_sbx_error(sbx({"run"}), {"CMD"});
  expect_sbx_error(sbx({"cp", "only-one"}), {"DST"});
}

TEST_F(ErrorTest, UnknownVerbAndOption) {
  expect_sbx_error(sbx({"frobnicate"}), {"frobnicate"});
  expect_sbx_error(sbx({"ls", "--frobnicate"}), {"--frobnicate"});
  expect_sbx_error(sbx({}), {});
}

TEST_F(ErrorTest, BadConfigFileNamesFileAndKey) {
  write_config("memroy = \"1g\"");
  const SbxResult result = sbx({"ls"});
  expect_sbx_error(result, {config().string(), "memroy"});
  expect_sbx_error(run_sbx({"--config", (dir() / "absent.toml").string(), "ls"}), {"absent.toml"});
}

TEST_F(ErrorTest, BadLogLevel) { expect_sbx_error(sbx({"--log-level", "loud", "ls"}), {"loud"}); }

TEST_F(ErrorTest, HelpExitsZeroOnStdout) {
  const SbxResult help = sbx({"--help"});
  EXPECT_EQ(help.exit_code, 0);
  EXPECT_NE(help.out.find("run"), std::string::npos) << help.out;
  EXPECT_NE(help.out.find("--backend"), std::string::npos) << help.out;
  EXPECT_EQ(help.err, "");

  const SbxResult run_help = sbx({"run", "--help"});
  EXPECT_EQ(run_help.exit_code, 0);
  EXPECT_NE(run_help.out.find("--timeout"), std::string::npos) << run_help.out;
}

// The limited plugin is the fake without fork, snapshot, pause, stats and stdin.
class UnsupportedTest : public SbxCliTest {
 protected:
  SbxResult limited(std::vector<std::string> args, const std::string& input = {}) {
    args.insert(args.begin(), {"--backend", kLimitedPlugin.string()});
    return sbx(args, input);
  }
};

TEST_F(UnsupportedTest, VerbTheBackendLacksIsNamed) {
  const SbxResult created = limited({"create"});
  ASSERT_EQ(created.exit_code, 0) << created.err;
  std::string id = created.out;
  ASSERT_FALSE(id.empty());
  id.pop_back();

  for (const std::string verb : {"fork", "pause", "unpause", "stats", "snapshot"})
    expect_sbx_error(limited({verb, id}), {"does not support " + verb, "cli-limited"});
  expect_sbx_error(limited({"exec", "-i", id, "cat"}), {"does not support stdin", "cli-limited"});
  expect_sbx_error(limited({"run", "-i", "cat"}), {"does not support stdin"});

  // What it has still works through the same plugin.
  EXPECT_EQ(limited({"exec", id, "echo", "fine"}).out, "fine\n");
}

TEST_F(UnsupportedTest, CreateIsRefusedWhenSandboxesDoNotOutliveSbx) {
  write_config("", "[backends.cli-limited]\npersistent = false\n");
  expect_sbx_error(limited({"create"}), {"does not support create", "cli-limited", "sbx run"});
  EXPECT_TRUE(listed_ids().empty());
  // run needs no persistence.
  EXPECT_EQ(limited({"run", "echo", "ok"}).out, "ok\n");
}

}  // namespace
}  // namespace sbx::test
