// One id space: `hutch ls` lists the sandboxes of every configured backend, and a verb given an
// id finds the backend that owns it, each step in a hutch process of its own. An unavailable
// backend is a warning, an id two backends claim an error naming both.
#include "cli_fixture.hpp"
#include "real_backends.hpp"
#include "require.hpp"

#include <functional>

namespace hutch::test {
namespace {

class BackendLookupTest : public HutchCliTest {
 protected:
  // A config whose default backend is `default_backend`, with `tables` after it; plugins are
  // found in the test plugin dir and next to the bundled ones.
  void configure(const std::string& default_backend, const std::string& tables) {
    write_file(config(), "[defaults]\nbackend = \"" + default_backend + "\"\nstate_dir = \"" +
                             (dir() / "state").string() + "\"\n[plugins]\npaths = [\"" + HUTCH_TEST_PLUGIN_DIR +
                             "\", \"" + HUTCH_PLUGIN_OUTPUT_DIR + "\"]\n" + tables);
  }

  // id -> backend, from `hutch --json ls` with `options`.
  std::map<std::string, std::string> listed(std::vector<std::string> options = {}) {
    options.insert(options.begin(), {"--json", "ls"});
    const HutchResult result = hutch(options);
    EXPECT_EQ(result.exit_code, 0) << result.err;
    std::map<std::string, std::string> sandboxes;
    const boost::json::value listing = parse_json(result.out);
    if (!listing.is_array()) return sandboxes;
    for (const auto& entry : listing.as_array())
      sandboxes[std::string(entry.at("id").as_string())] = std::string(entry.at("backend").as_string());
    return sandboxes;
  }
};

TEST_F(BackendLookupTest, DockerSandboxIsFoundWithoutBackendByLaterProcesses) {
  HUTCH_NEED(subcontainer_usable(), "HUTCH_REQUIRE_NAMESPACES", "user+mount namespaces and the subcontainer plugin");
  HUTCH_NEED(docker_usable(), "HUTCH_REQUIRE_DOCKER", "a docker daemon and the docker plugin");
  let_sandbox_roots_in(dir());
  configure("subcontainer", "[backends.docker]\n");
  // Only this test's sandboxes: the daemon is shared.
  const std::string label = "hutch-cli-test=" + dir().filename().string();

  const std::string on_docker = create({"--backend", "docker", "--image", docker_test_image(), "--label", label});
  ASSERT_FALSE(on_docker.empty());
  // Removed on every way out (not by TearDown's `prune --all`: the daemon is shared).
  struct RemoveOnExit {
    std::function<void()> remove;
    ~RemoveOnExit() { remove(); }
  } remove_docker_sandbox{[&] { hutch({"--backend", "docker", "rm", "-f", on_docker}); }};
  // Through hutch_on, so that TearDown prunes it should the test stop early.
  const HutchResult made = hutch_on(kSubcontainerPluginFile, {"create", "--label", label});
  ASSERT_EQ(made.exit_code, 0) << made.err;
  const std::string on_subcontainer = made.out.substr(0, made.out.size() - 1);

  const HutchResult executed = hutch({"exec", on_docker, "--", "sh", "-c", "echo docker-side"});
  EXPECT_EQ(executed.exit_code, 0) << executed.err;
  EXPECT_EQ(executed.out, "docker-side\n");
  const HutchResult inspected = hutch({"--json", "inspect", on_docker});
  EXPECT_EQ(inspected.exit_code, 0) << inspected.err;
  EXPECT_EQ(parse_json(inspected.out).at("backend").as_string(), "docker") << inspected.out;

  auto everything = listed({"--label", label});
  EXPECT_EQ(everything[on_docker], "docker");
  EXPECT_EQ(everything[on_subcontainer], "subcontainer");
  EXPECT_EQ(everything.size(), 2u);
  const HutchResult table = hutch({"ls", "--label", label});
  EXPECT_NE(table.out.find("BACKEND"), std::string::npos) << table.out;
  auto narrowed = listed({"--backend", "subcontainer", "--label", label});
  EXPECT_EQ(narrowed.count(on_docker), 0u);
  EXPECT_EQ(narrowed.count(on_subcontainer), 1u);

  const HutchResult removed = hutch({"rm", on_docker, on_subcontainer});
  EXPECT_EQ(removed.exit_code, 0) << removed.err;
  expect_hutch_error(hutch({"exec", on_docker, "--", "true"}), {on_docker, "'subcontainer'", "'docker'"});
  EXPECT_TRUE(listed({"--label", label}).empty());
}

TEST_F(BackendLookupTest, AnIdClaimedByTwoBackendsIsAnErrorNamingBoth) {
  // cli-limited wraps the fake plugin with the same state: both have every sandbox.
  configure("fake", "[backends.cli-limited]\n");
  const std::string id = create();
  ASSERT_FALSE(id.empty());
  expect_hutch_error(hutch({"exec", id, "--", "echo", "hi"}), {id, "'fake'", "'cli-limited'", "--backend"});
  expect_hutch_error(hutch({"rm", id}), {id, "'fake'", "'cli-limited'"});
  const HutchResult narrowed = hutch({"--backend", "fake", "exec", id, "--", "echo", "hi"});
  EXPECT_EQ(narrowed.exit_code, 0) << narrowed.err;
  EXPECT_EQ(narrowed.out, "hi\n");
  EXPECT_EQ(hutch({"--backend", "fake", "rm", id}).exit_code, 0);
}

TEST_F(BackendLookupTest, AnUnavailableBackendIsAWarningNotAFailure) {
  // A docker table whose daemon is nowhere: configured, not available.
  configure("fake", "[backends.docker]\nhost = \"unix://" + (dir() / "no-docker.sock").string() + "\"\n");
  const std::string id = create();
  ASSERT_FALSE(id.empty());

  const HutchResult listing = hutch({"--json", "ls"});
  EXPECT_EQ(listing.exit_code, 0) << listing.err;
  EXPECT_EQ(ids_listed_by(listing), std::vector<std::string>{id});
  ASSERT_EQ(listing.err_lines().size(), 1u) << listing.err;
  EXPECT_NE(listing.err.find("warning: backend 'docker' is not available"), std::string::npos) << listing.err;

  const HutchResult executed = hutch({"exec", id, "--", "echo", "hi"});
  EXPECT_EQ(executed.exit_code, 0) << executed.err;
  EXPECT_EQ(executed.out, "hi\n");
  // Nobody has it: the error names where it looked and what it could not ask.
  expect_hutch_error(hutch({"inspect", "nosuchid"}), {"no sandbox 'nosuchid'", "'fake'", "could not ask 'docker'"});
  // Asked for alone, the backend's failure is an error.
  const HutchResult alone = hutch({"--backend", "docker", "ls"});
  EXPECT_EQ(alone.exit_code, 125) << alone.err;
  const HutchResult removed = hutch({"rm", id});
  EXPECT_EQ(removed.exit_code, 0) << removed.err;
  EXPECT_EQ(removed.out, id + "\n");
}

TEST_F(BackendLookupTest, AConfiguredPluginThatDoesNotLoadIsAWarningInLs) {
  configure("fake", "[backends.no-such-plugin]\n");
  const std::string id = create();
  const HutchResult listing = hutch({"--json", "ls"});
  EXPECT_EQ(listing.exit_code, 0) << listing.err;
  EXPECT_EQ(ids_listed_by(listing), std::vector<std::string>{id});
  ASSERT_EQ(listing.err_lines().size(), 1u) << listing.err;
  EXPECT_NE(listing.err.find("'no-such-plugin'"), std::string::npos) << listing.err;
  EXPECT_EQ(hutch({"rm", id}).exit_code, 0);
}

}  // namespace
}  // namespace hutch::test
