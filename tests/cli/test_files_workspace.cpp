// Issue 14 through the CLI, on the subcontainer and the docker backend: --file manifests seen
// by the first command, `hutch update -e` seen by a later `hutch exec` (separate processes),
// --workspace NAME kept across `hutch rm` and handled by `hutch volume ls|rm`,
// --max-file-bytes (EFBIG, the shell lives on), and [defaults] env_passthrough / env_block /
// image_map applied by core to every backend.
#include "real_backends.hpp"

#include <stdlib.h>

#include <cstdlib>
#include <filesystem>

namespace hutch::test {
namespace {

namespace fs = std::filesystem;

std::string one_line(const HutchResult& result) {
  std::string out = result.out;
  while (!out.empty() && out.back() == '\n') out.pop_back();
  return out;
}

class FilesWorkspaceCliTest : public EachBackendCliTest {
 protected:
  // CREATE-OPTIONS every sandbox of the test gets (the image on docker).
  std::vector<std::string> with_image(std::vector<std::string> args) const {
    if (GetParam() == "docker") args.insert(args.begin() + 1, {"--image", docker_test_image()});
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
  expect_hutch_error(on_backend({"update", id}), {"nothing to change", "--ttl", "-e KEY=VALUE"});
  // One verb for both kinds of change: lifetimes and env in one call.
  const HutchResult both = on_backend({"update", id, "--ttl", "1h", "-e", "BOTH=yes"});
  EXPECT_EQ(both.exit_code, 0) << both.err;
  EXPECT_EQ(on_backend({"exec", id, "--", "sh", "-c", "echo $BOTH"}).out, "yes\n");
  const HutchResult inspected = on_backend({"--json", "inspect", id});
  ASSERT_EQ(inspected.exit_code, 0) << inspected.err;
  EXPECT_TRUE(parse_json(inspected.out).at("expires_at").is_string()) << "--ttl was not applied: " << inspected.out;
  // A bad duration changes nothing, not even the env given with it.
  expect_hutch_error(on_backend({"update", id, "--ttl", "soon", "-e", "LATE=1"}), {"--ttl"});
  EXPECT_EQ(on_backend({"exec", id, "--", "sh", "-c", "echo ${LATE-unset}"}).out, "unset\n");
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
  const boost::json::value volumes = parse_json(listed.out);  // held: the loop reads into it
  ASSERT_TRUE(volumes.is_array()) << listed.out;
  for (const auto& volume : volumes.as_array())
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

// Sets host variables for the hutch processes a test starts; unsets them again.
class ScopedHostEnv {
 public:
  explicit ScopedHostEnv(std::vector<std::pair<std::string, std::string>> vars) : vars_(std::move(vars)) {
    for (const auto& [key, value] : vars_) ::setenv(key.c_str(), value.c_str(), 1);
  }
  ~ScopedHostEnv() {
    for (const auto& [key, value] : vars_) ::unsetenv(key.c_str());
  }
  ScopedHostEnv(const ScopedHostEnv&) = delete;
  ScopedHostEnv& operator=(const ScopedHostEnv&) = delete;

 private:
  std::vector<std::pair<std::string, std::string>> vars_;
};

TEST_P(FilesWorkspaceCliTest, DefaultsPassHostVariablesThroughTheirFilter) {
  write_config("env_passthrough = [\"HUTCH_PASS_*\", \"HUTCH_EXACT\"]\nenv_block = [\"HUTCH_PASS_SECRET*\"]");
  ScopedHostEnv host({{"HUTCH_PASS_A", "a"}, {"HUTCH_EXACT", "exact"}, {"HUTCH_PASS_SECRET_KEY", "leaked"},
                      {"HUTCH_NOT_LISTED", "leaked"}});
  const HutchResult result = on_backend(with_image(
      {"run", "-e", "HUTCH_EXACT=mine", "--", "sh", "-c",
       "echo \"$HUTCH_PASS_A/$HUTCH_EXACT/${HUTCH_PASS_SECRET_KEY-blocked}/${HUTCH_NOT_LISTED-absent}\""}));
  EXPECT_EQ(result.exit_code, 0) << result.err;
  // The blocklist wins over a passthrough glob; -e wins over the host's value.
  EXPECT_EQ(result.out, "a/mine/blocked/absent\n") << result.err;
}

TEST_P(FilesWorkspaceCliTest, TheImageMapPicksTheImageFromTheCommand) {
  // Mapped: the image whose ENV says GREETING=from-image. Without the map the backend's own
  // default image would run (no GREETING), so the output shows which one ran.
  const std::string image = GetParam() == "docker" ? docker_defaults_image() : subcontainer_defaults_archive();
  if (GetParam() == "subcontainer")
    HUTCH_NEED(fs::exists(image), "HUTCH_REQUIRE_NAMESPACES", image + " (made by .ci/build-test-images.sh)");
  write_config("", "[defaults.image_map]\nsh = \"" + image + "\"\n");
  // `sh` is the program: its exact key. `--entrypoint ""`: the command runs as given, not as
  // arguments of the image's entrypoint; `-u 0 -w /`: its user and directory do not matter.
  const HutchResult result =
      on_backend({"run", "--entrypoint", "", "-u", "0", "-w", "/", "--", "sh", "-c", "echo $GREETING"});
  EXPECT_EQ(result.exit_code, 0) << result.err;
  EXPECT_EQ(result.out, "from-image\n") << result.err;
  // An explicit --image is not replaced by the command's entry.
  const HutchResult explicit_image = on_backend(with_image({"run", "-u", "0", "--", "sh", "-c", "echo ${GREETING-none}"}));
  if (GetParam() == "docker") EXPECT_EQ(explicit_image.out, "none\n") << explicit_image.err;
}

// Not on the fake: its commands are built-ins (no shell, no EFBIG) and it keeps no volumes.
INSTANTIATE_TEST_SUITE_P(Backends, FilesWorkspaceCliTest, ::testing::Values("subcontainer", "docker"), backend_test_name);

}  // namespace
}  // namespace hutch::test
