// Issue 14 through the CLI, on the subcontainer and the docker backend: --file manifests seen
// by the first command, `hutch update -e` seen by a later `hutch exec` (separate processes),
// --workspace NAME kept across `hutch rm` and handled by `hutch volume ls|rm`, and
// --max-file-bytes (EFBIG, the shell lives on).
#include "cli_fixture.hpp"
#include "namespaces.hpp"
#include "require.hpp"

#include <sys/stat.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>

namespace hutch::test {
namespace {

namespace fs = std::filesystem;

const fs::path kSubcontainerPlugin = fs::path(HUTCH_PLUGIN_OUTPUT_DIR) / "hutch-subcontainer.so";
const fs::path kDockerPlugin = fs::path(HUTCH_PLUGIN_OUTPUT_DIR) / "hutch-docker.so";

std::string docker_image() {
  const char* image = std::getenv("HUTCH_DOCKER_TEST_IMAGE");
  return image != nullptr && *image != '\0' ? image : "hutch-test-busybox:latest";
}

std::string one_line(const HutchResult& result) {
  std::string out = result.out;
  while (!out.empty() && out.back() == '\n') out.pop_back();
  return out;
}

class FilesWorkspaceCliTest : public HutchCliTest, public ::testing::WithParamInterface<std::string> {
 protected:
  void SetUp() override {
    HutchCliTest::SetUp();
    if (GetParam() == "docker") {
      const char* docker_host = std::getenv("DOCKER_HOST");
      const bool daemon = (docker_host != nullptr && *docker_host != '\0') || fs::exists("/var/run/docker.sock");
      HUTCH_NEED(daemon && fs::exists(kDockerPlugin), "HUTCH_REQUIRE_DOCKER", "a docker daemon and the docker plugin");
    } else {
      HUTCH_NEED(user_namespaces_available() && fs::exists(kSubcontainerPlugin), "HUTCH_REQUIRE_NAMESPACES",
                 "user namespaces and the subcontainer plugin");
      // The sandbox's root (another host uid when hutch runs as root) walks down to its state.
      ::chmod(dir().c_str(), 0711);
    }
  }

  // On docker not through hutch_on, whose TearDown prunes every sandbox of the shared daemon:
  // each test removes what it made.
  HutchResult on_backend(std::vector<std::string> args) {
    if (GetParam() == "subcontainer") return hutch_on(kSubcontainerPlugin, std::move(args));
    args.insert(args.begin(), {"--backend", kDockerPlugin.string()});
    return hutch(std::move(args));
  }

  // CREATE-OPTIONS every sandbox of the test gets (the image on docker).
  std::vector<std::string> with_image(std::vector<std::string> args) const {
    if (GetParam() == "docker") args.insert(args.begin() + 1, {"--image", docker_image()});
    return args;
  }

  std::string created(std::vector<std::string> options) {
    options.insert(options.begin(), "create");
    const HutchResult result = on_backend(with_image(std::move(options)));
    EXPECT_EQ(result.exit_code, 0) << result.err;
    return one_line(result);
  }

  // A volume name no other run uses (the docker daemon is shared).
  std::string volume_name() const { return "hutch-test-ws-cli-" + dir().filename().string(); }
};

TEST_P(FilesWorkspaceCliTest, AManifestOfAHundredFilesIsThereForTheFirstCommand) {
  std::vector<std::string> args{"run"};
  std::vector<std::string> cat{"cat"};
  std::string expected;
  for (int i = 0; i < 100; ++i) {
    const fs::path host = dir() / ("in" + std::to_string(i));
    const std::string content = "file " + std::to_string(i) + "\n";
    write_file(host, content);
    const std::string target = "/tmp/manifest/d" + std::to_string(i % 7) + "/f" + std::to_string(i);
    args.insert(args.end(), {"--file", host.string() + ":" + target + (i == 3 ? ":600" : "")});
    cat.push_back(target);
    expected += content;
  }
  std::vector<std::string> command{"--", "sh", "-c", "stat -c %a /tmp/manifest/d3/f3 && \"$@\"", "sh"};
  command.insert(command.end(), cat.begin(), cat.end());
  args.insert(args.end(), command.begin(), command.end());
  const HutchResult result = on_backend(with_image(args));
  EXPECT_EQ(result.exit_code, 0) << result.err;
  EXPECT_EQ(result.out, "600\n" + expected);

  expect_hutch_error(on_backend(with_image({"run", "--file", "no-colon", "true"})), {"--file", "HOST_PATH:SANDBOX_PATH"});
  expect_hutch_error(on_backend(with_image({"run", "--file", (dir() / "in1").string() + ":/x:99z", "true"})),
                     {"--file", "MODE '99z'"});
}

TEST_P(FilesWorkspaceCliTest, UpdateEnvIsSeenByALaterExecOfAnotherProcess) {
  const std::string id = created({"-e", "GONE=from-create"});
  ASSERT_FALSE(id.empty());
  const HutchResult updated = on_backend({"update", id, "-e", "NEW=from-update", "-e", "GONE-"});
  EXPECT_EQ(updated.exit_code, 0) << updated.err;
  const HutchResult seen = on_backend({"exec", id, "--", "sh", "-c", "echo \"$NEW/${GONE-unset}\""});
  EXPECT_EQ(seen.out, "from-update/unset\n") << seen.err;
  expect_hutch_error(on_backend({"update", id, "-e", "oops"}), {"KEY=VALUE", "KEY-"});
  expect_hutch_error(on_backend({"update", id}), {"nothing to change"});
  EXPECT_EQ(on_backend({"rm", id}).exit_code, 0);
}

TEST_P(FilesWorkspaceCliTest, APersistentWorkspaceOutlivesRmAndIsListedAndRemovedByVolume) {
  const std::string name = volume_name();
  const std::string id = created({"--workspace", name});
  ASSERT_FALSE(id.empty());
  ASSERT_EQ(on_backend({"exec", id, "--", "sh", "-c", "echo kept > /workspace/data"}).exit_code, 0);
  expect_hutch_error(on_backend({"volume", "rm", name}), {name, "used by", id});
  EXPECT_EQ(on_backend({"rm", id}).exit_code, 0);

  const HutchResult listed = on_backend({"--json", "volume", "ls"});
  ASSERT_EQ(listed.exit_code, 0) << listed.err;
  bool found = false;
  for (const auto& volume : parse_json(listed.out).as_array())
    if (volume.at("name").as_string() == name) {
      found = true;
      EXPECT_TRUE(volume.at("used_by").as_array().empty()) << listed.out;
    }
  EXPECT_TRUE(found) << listed.out;

  // A later sandbox finds the content; its pwd is the workspace.
  const HutchResult again = on_backend(with_image({"run", "--workspace", name, "--", "sh", "-c", "pwd; cat data"}));
  EXPECT_EQ(again.out, "/workspace\nkept\n") << again.err;

  const HutchResult removed = on_backend({"volume", "rm", name});
  EXPECT_EQ(removed.exit_code, 0) << removed.err;
  EXPECT_EQ(removed.out, name + "\n");
  EXPECT_EQ(on_backend({"volume", "ls"}).out.find(name), std::string::npos);
}

TEST_P(FilesWorkspaceCliTest, MaxFileBytesMakesAWriteFailWithEfbigAndTheShellLivesOn) {
  const HutchResult result = on_backend(with_image(
      {"run", "--max-file-bytes", "1m", "--", "sh", "-c", "head -c 2000000 /dev/zero > /tmp/f; echo status=$?; wc -c < /tmp/f"}));
  EXPECT_EQ(result.exit_code, 0) << result.err;
  EXPECT_NE(result.out.find("status=1"), std::string::npos) << result.out;
  EXPECT_NE(result.out.find("1048576"), std::string::npos) << result.out;
}

INSTANTIATE_TEST_SUITE_P(Backends, FilesWorkspaceCliTest, ::testing::Values("subcontainer", "docker"),
                         [](const auto& info) { return info.param; });

}  // namespace
}  // namespace hutch::test
