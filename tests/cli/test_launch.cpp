// hutch launch and hutch logs: a main command started by one hutch process and followed by later
// ones, on the subcontainer backend; and the unsupported-verb message on a backend without it.
#include "cli_fixture.hpp"
#include "namespaces.hpp"
#include "require.hpp"

#include <sys/stat.h>

namespace hutch::test {
namespace {

namespace fs = std::filesystem;
using LaunchCliTest = HutchCliTest;

const fs::path kSubcontainerPlugin = fs::path(HUTCH_PLUGIN_OUTPUT_DIR) / "hutch-subcontainer.so";

TEST_F(LaunchCliTest, LaunchAndLogsNameTheBackendThatLacksThem) {
  const std::string id = create();
  expect_hutch_error(hutch({"launch", id, "--", "echo", "hi"}), {"launch", "fake"});
  expect_hutch_error(hutch({"logs", id}), {"logs", "fake"});
  // Without a command: the image's entrypoint, which this backend cannot launch either.
  expect_hutch_error(hutch({"launch", id}), {"launch", "fake"});
}

TEST_F(LaunchCliTest, MainCommandOutlivesHutchAndLaterProcessesFollowIt) {
  HUTCH_NEED(user_namespaces_available() && fs::exists(kSubcontainerPlugin), "HUTCH_REQUIRE_NAMESPACES",
           "user+mount namespaces and the subcontainer plugin");
  // The sandbox's root (another host uid when hutch runs as root) walks down to its state.
  ::chmod(dir().c_str(), 0711);
  auto on_subcontainer = [&](std::vector<std::string> args) { return hutch_on(kSubcontainerPlugin, std::move(args)); };
  const HutchResult created = on_subcontainer({"create"});
  ASSERT_EQ(created.exit_code, 0) << created.err;
  const std::string id = created.out.substr(0, created.out.size() - 1);

  const HutchResult launched = on_subcontainer({"launch", id, "--", "sleep", "1000"});
  ASSERT_EQ(launched.exit_code, 0) << launched.err;
  EXPECT_GT(std::stoi(launched.out), 1) << "launch prints the pid: " << launched.out;

  // The hutch process that launched it is gone; the main command is not.
  HutchResult inspected = on_subcontainer({"inspect", "--json", id});
  ASSERT_EQ(inspected.exit_code, 0) << inspected.err;
  auto main = parse_json(inspected.out).at("main_command");
  EXPECT_EQ(main.at("state").as_string(), "running");
  EXPECT_EQ(main.at("pid").to_number<int>(), std::stoi(launched.out));
  EXPECT_EQ(main.at("argv").as_array().size(), 2u);

  const HutchResult replaced =
      on_subcontainer({"launch", "-e", "GREETING=hi", "-w", "/tmp", id, "sh", "-c", "echo $GREETING $(pwd); sleep 0.3; exit 4"});
  ASSERT_EQ(replaced.exit_code, 0) << replaced.err;
  const HutchResult followed = on_subcontainer({"logs", "-f", id});
  EXPECT_EQ(followed.exit_code, 0) << followed.err;
  EXPECT_EQ(followed.out, "hi /tmp\n");

  inspected = on_subcontainer({"inspect", "--json", id});
  main = parse_json(inspected.out).at("main_command");
  EXPECT_EQ(main.at("state").as_string(), "exited");
  EXPECT_EQ(main.at("exit_code").to_number<int>(), 4);
  const HutchResult text = on_subcontainer({"inspect", id});
  EXPECT_NE(text.out.find("exited with 4"), std::string::npos) << text.out;
  EXPECT_EQ(on_subcontainer({"logs", id}).out, "hi /tmp\n");
  EXPECT_EQ(on_subcontainer({"rm", id}).exit_code, 0);
}

}  // namespace
}  // namespace hutch::test
