// An image's own Entrypoint, Cmd, Env, WorkingDir and User (issue 14, item 2), through the
// hutch command on both real backends: the image hutch-test-defaults (.ci/test-images/defaults,
// built FROM the test image by .ci/build-test-images.sh) on docker, and the same image saved
// with `docker save` and imported by the subcontainer backend. Its entrypoint prints
// "entry:<its arguments>:$GREETING:<working directory>:<uid>".
#include "real_backends.hpp"

#include <sys/stat.h>

#include <cstdlib>

namespace hutch::test {
namespace {

namespace fs = std::filesystem;

const fs::path kSubcontainerPlugin = fs::path(HUTCH_PLUGIN_OUTPUT_DIR) / "hutch-subcontainer.so";
const fs::path kDockerPlugin = fs::path(HUTCH_PLUGIN_OUTPUT_DIR) / "hutch-docker.so";

class ImageDefaultsCliTest : public HutchCliTest {
 protected:
  // Subcontainer through hutch_on (TearDown prunes it); docker not: a prune --all there would
  // remove other tests' sandboxes on the same daemon. Every docker sandbox here is removed by
  // the test (run removes its own).
  HutchResult on_backend(std::vector<std::string> args) {
    if (plugin_ == kSubcontainerPlugin) return hutch_on(plugin_, std::move(args));
    args.insert(args.begin(), {"--backend", plugin_.string()});
    return hutch(std::move(args));
  }

  void expect_output(std::vector<std::string> args, const std::string& expected) {
    const HutchResult result = on_backend(args);
    EXPECT_EQ(result.exit_code, 0) << result.err;
    EXPECT_EQ(result.out, expected) << "hutch " << args.front() << " ...: " << result.err;
  }

  void check_defaults_apply(const std::string& image) {
    // As `docker run IMAGE`: the entrypoint with the image's Cmd, its env, workdir and user.
    expect_output({"run", "--image", image}, "entry:from-cmd:from-image:/srv/app:1000\n");
    // Arguments replace the Cmd, not the entrypoint.
    expect_output({"run", "--image", image, "a", "b"}, "entry:a b:from-image:/srv/app:1000\n");
    // What the caller says wins over the image.
    expect_output({"run", "-e", "GREETING=mine", "-w", "/tmp", "-u", "0", "--image", image},
                  "entry:from-cmd:mine:/tmp:0\n");
    // --entrypoint replaces it, and the image's Cmd goes with it (echo prints an empty line).
    expect_output({"run", "--entrypoint", "/bin/echo", "--image", image}, "\n");
    expect_output({"run", "--entrypoint", "/bin/echo", "--image", image, "given"}, "given\n");

    const HutchResult created = on_backend({"create", "--image", image});
    ASSERT_EQ(created.exit_code, 0) << created.err;
    const std::string id = created.out.substr(0, created.out.size() - 1);
    // exec runs its command as given (docker exec), with the image's env, workdir and user.
    expect_output({"exec", id, "sh", "-c", "echo $GREETING $(pwd) $(id -u)"}, "from-image /srv/app 1000\n");
    // launch without a command starts the entrypoint with the Cmd.
    const HutchResult launched = on_backend({"launch", id});
    EXPECT_EQ(launched.exit_code, 0) << launched.err;
    expect_output({"logs", "-f", id}, "entry:from-cmd:from-image:/srv/app:1000\n");

    const HutchResult inspected = on_backend({"--json", "inspect", id});
    ASSERT_EQ(inspected.exit_code, 0) << inspected.err;
    const auto defaults = parse_json(inspected.out).at("defaults");
    ASSERT_TRUE(defaults.is_object()) << inspected.out;
    EXPECT_EQ(defaults.at("entrypoint").as_array().at(0).as_string(), "/bin/sh") << inspected.out;
    EXPECT_EQ(defaults.at("cmd").as_array().at(0).as_string(), "from-cmd") << inspected.out;
    EXPECT_EQ(defaults.at("workdir").as_string(), "/srv/app");
    EXPECT_EQ(defaults.at("user").as_string(), "hutchuser");
    EXPECT_EQ(defaults.at("env").at("GREETING").as_string(), "from-image");
    const HutchResult text = on_backend({"inspect", id});
    EXPECT_NE(text.out.find("default workdir"), std::string::npos) << text.out;
    EXPECT_NE(text.out.find("GREETING=from-image"), std::string::npos) << text.out;
    EXPECT_EQ(on_backend({"rm", id}).exit_code, 0);
  }

  fs::path plugin_;
};

TEST_F(ImageDefaultsCliTest, SubcontainerAppliesTheDefaultsOfAnImportedDockerSave) {
  HUTCH_NEED(user_namespaces_available() && fs::exists(kSubcontainerPlugin), "HUTCH_REQUIRE_NAMESPACES",
             "user+mount namespaces and the subcontainer plugin");
  const std::string archive = subcontainer_defaults_archive();
  HUTCH_NEED(fs::exists(archive), "HUTCH_REQUIRE_NAMESPACES",
             archive + " (made by .ci/build-test-images.sh with a running dockerd)");
  // The sandbox's root (another host uid when hutch runs as root) walks down to its state.
  ::chmod(dir().c_str(), 0711);
  plugin_ = kSubcontainerPlugin;
  check_defaults_apply(archive);
}

TEST_F(ImageDefaultsCliTest, DockerAppliesTheDefaultsOfItsImage) {
  const char* docker_host = std::getenv("DOCKER_HOST");
  const bool daemon = (docker_host != nullptr && *docker_host != '\0') || fs::exists("/var/run/docker.sock");
  HUTCH_NEED(daemon && fs::exists(kDockerPlugin), "HUTCH_REQUIRE_DOCKER", "a docker daemon and the docker plugin");
  plugin_ = kDockerPlugin;
  check_defaults_apply(docker_defaults_image());
}

// The fake backend's images have no config: only --entrypoint gives a default command.
TEST_F(ImageDefaultsCliTest, EntrypointOptionAndAMissingCommand) {
  const HutchResult echoed = hutch({"run", "--entrypoint", "echo", "hello"});
  EXPECT_EQ(echoed.exit_code, 0) << echoed.err;
  EXPECT_EQ(echoed.out, "hello\n");
  expect_hutch_error(hutch({"run"}), {"no command given", "Entrypoint"});
  EXPECT_TRUE(listed_ids().empty()) << "run left its sandbox behind";
}

}  // namespace
}  // namespace hutch::test
