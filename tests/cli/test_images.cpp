// `hutch pull`, `hutch images`, `hutch image inspect|rm|prune|import` through the command on
// the subcontainer backend (issue 18), with the registry of .ci/build-test-images.sh on
// 127.0.0.1 and its busybox rootfs tar. `hutch pull` on a terminal (util-linux `script`
// gives it one) redraws a line per layer; into a pipe it writes plain lines.
#include "real_backends.hpp"
#include "test_registry.hpp"

#include <gmock/gmock.h>

#include <cstdlib>
#include <fstream>
#include <sstream>

namespace hutch::test {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;
using ::testing::Not;

using hutch::test::test_registry;

class ImagesCliTest : public HutchCliTest {
 protected:
  void SetUp() override {
    HutchCliTest::SetUp();
    HUTCH_NEED(subcontainer_usable(), "HUTCH_REQUIRE_NAMESPACES", "user+mount namespaces and the subcontainer plugin");
    HUTCH_NEED(test_registry_up() && fs::exists(test_data("busybox-rootfs.tar")), "HUTCH_REQUIRE_REGISTRY",
               "the docker-registry on " + test_registry() + " and the busybox rootfs tar (.ci/build-test-images.sh)");
    let_sandbox_roots_in(dir());
    write_config("", "[images]\npull = \"never\"\ndocker_config = false\n");
  }
  HutchResult on_subcontainer(std::vector<std::string> args) { return hutch_on(kSubcontainerPluginFile, std::move(args)); }
  static std::string line_of(const std::string& out) { return out.substr(0, out.find('\n')); }
};

// The first thing a user tries: `hutch run --image REGISTRY/NAME:TAG -- CMD` pulls what is
// missing and runs the command in it; a second run uses the stored image.
TEST_F(ImagesCliTest, RunPullsAMissingImageFromTheRegistryAndRunsInIt) {
  write_config("", "[images]\npull = \"missing\"\ndocker_config = false\n");
  const std::string name = test_registry() + "/hutch/busybox:latest";
  ASSERT_EQ(parse_json(on_subcontainer({"--json", "images"}).out).as_array().size(), 0u) << "the store is not empty";
  const HutchResult first = on_subcontainer({"run", "--image", name, "--", "sh", "-c", "echo from-registry; ls /bin/busybox"});
  ASSERT_EQ(first.exit_code, 0) << first.err;
  EXPECT_EQ(first.out, "from-registry\n/bin/busybox\n");
  const boost::json::array stored = parse_json(on_subcontainer({"--json", "images"}).out).as_array();
  ASSERT_EQ(stored.size(), 1u) << "the run did not store the pulled image";
  const std::string stored_before = boost::json::serialize(stored);
  const HutchResult second = on_subcontainer({"run", "--image", name, "--", "echo", "again"});
  ASSERT_EQ(second.exit_code, 0) << second.err;
  EXPECT_EQ(second.out, "again\n");
  EXPECT_EQ(boost::json::serialize(parse_json(on_subcontainer({"--json", "images"}).out).as_array()), stored_before)
      << "the second run changed the store";
  EXPECT_EQ(on_subcontainer({"image", "prune"}).exit_code, 0);
}

TEST_F(ImagesCliTest, PullListInspectImportRemoveAndPrune) {
  const std::string name = test_registry() + "/hutch/busybox:latest";
  const HutchResult pulled = on_subcontainer({"pull", name});
  ASSERT_EQ(pulled.exit_code, 0) << pulled.err;
  const std::string id = line_of(pulled.out);
  EXPECT_EQ(id.size(), 64u) << pulled.out;
  EXPECT_THAT(pulled.err, HasSubstr(": downloaded and verified")) << "plain progress lines";
  EXPECT_THAT(pulled.err, Not(HasSubstr("\033["))) << "terminal control sequences in a pipe: " << pulled.err;

  const HutchResult listed = on_subcontainer({"--json", "images"});
  ASSERT_EQ(listed.exit_code, 0) << listed.err;
  const auto images = parse_json(listed.out).as_array();
  ASSERT_EQ(images.size(), 1u) << listed.out;
  EXPECT_EQ(images[0].at("id").as_string(), id);
  EXPECT_EQ(images[0].at("names").as_array().at(0).as_string(), name);
  EXPECT_TRUE(images[0].at("managed").as_bool());

  const HutchResult inspected = on_subcontainer({"image", "inspect", name});
  ASSERT_EQ(inspected.exit_code, 0) << inspected.err;
  const auto image = parse_json(inspected.out);
  EXPECT_EQ(image.at("id").as_string(), id);
  EXPECT_FALSE(image.at("layers").as_array().empty()) << inspected.out;
  EXPECT_NE(on_subcontainer({"image", "inspect", "no-such-image:0"}).exit_code, 0);

  const HutchResult imported = on_subcontainer({"image", "import", test_data("busybox-rootfs.tar"), "--name", "mine:1"});
  ASSERT_EQ(imported.exit_code, 0) << imported.err;
  const HutchResult table = on_subcontainer({"images"});
  EXPECT_THAT(table.out, HasSubstr("mine:1")) << table.out;
  EXPECT_THAT(table.out, HasSubstr(id.substr(0, 12))) << table.out;

  const HutchResult created = on_subcontainer({"create", "--image", "mine:1"});
  ASSERT_EQ(created.exit_code, 0) << created.err;
  const std::string sandbox = line_of(created.out);
  const HutchResult refused = on_subcontainer({"image", "rm", "mine:1"});
  EXPECT_NE(refused.exit_code, 0);
  EXPECT_THAT(refused.err, HasSubstr(sandbox)) << "the error names the sandbox";
  EXPECT_THAT(on_subcontainer({"images"}).out, HasSubstr(sandbox)) << "USED BY";
  EXPECT_EQ(on_subcontainer({"rm", sandbox}).exit_code, 0);
  const HutchResult removed = on_subcontainer({"image", "rm", "mine:1"});
  EXPECT_EQ(removed.exit_code, 0) << removed.err;
  EXPECT_EQ(removed.out, "mine:1\n");

  const HutchResult pruned = on_subcontainer({"image", "prune"});
  EXPECT_EQ(pruned.exit_code, 0) << pruned.err;
  EXPECT_EQ(pruned.out, id + "\n");
  EXPECT_EQ(parse_json(on_subcontainer({"--json", "images"}).out).as_array().size(), 0u);
}

TEST_F(ImagesCliTest, PullOnATerminalRedrawsOneLinePerLayerInPlace) {
  HUTCH_NEED(std::system("command -v script >/dev/null") == 0, "HUTCH_REQUIRE_REGISTRY", "util-linux script");
  const std::string name = test_registry() + "/hutch/layers:latest";
  const fs::path transcript = dir() / "pull-terminal.out";
  std::string command = std::string(HUTCH_EXE) + " --config " + config().string() + " --backend " +
                        kSubcontainerPluginFile.string() + " pull " + name;
  const std::string line = "script -qfec '" + command + "' " + transcript.string() + " >/dev/null </dev/null";
  ASSERT_EQ(std::system(line.c_str()), 0) << line;
  std::stringstream text;
  text << std::ifstream(transcript).rdbuf();
  const std::string out = text.str();
  EXPECT_THAT(out, HasSubstr("\033[K")) << "lines are not redrawn: " << out;
  EXPECT_THAT(out, HasSubstr("A\r\033[K")) << "the cursor never moves back up over the layers: " << out;
  EXPECT_THAT(out, HasSubstr(" MB")) << "no byte counts: " << out;
  EXPECT_THAT(out, Not(HasSubstr("downloaded and verified (")))  << "plain lines on a terminal: " << out;
  EXPECT_EQ(on_subcontainer({"image", "prune"}).exit_code, 0);
}

}  // namespace
}  // namespace hutch::test
