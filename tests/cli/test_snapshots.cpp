// hutch snapshots, hutch snapshots rm and --from-snapshot of create and run: a snapshot made by one
// hutch process is listed, started from and deleted by later ones, on the subcontainer backend and
// on docker; and the refusals that come before any backend is contacted.
#include "cli_fixture.hpp"
#include "namespaces.hpp"
#include "require.hpp"

#include <sys/stat.h>

#include <algorithm>
#include <cstdlib>

namespace hutch::test {
namespace {

namespace fs = std::filesystem;

const fs::path kSubcontainerPlugin = fs::path(HUTCH_PLUGIN_OUTPUT_DIR) / "hutch-subcontainer.so";
const fs::path kDockerPlugin = fs::path(HUTCH_PLUGIN_OUTPUT_DIR) / "hutch-docker.so";

// stdout of a verb that prints one id, without its newline; fails the test unless it did.
std::string printed_id(const HutchResult& result, const std::string& verb) {
  EXPECT_EQ(result.exit_code, 0) << verb << ": " << result.err;
  std::string id = result.out;
  if (id.empty() || id.back() != '\n' || std::count(id.begin(), id.end(), '\n') != 1) {
    ADD_FAILURE() << verb << " printed: '" << result.out << "'";
    return {};
  }
  id.pop_back();
  return id;
}

class SnapshotsCliTest : public HutchCliTest {
 protected:
  // Runs hutch on backend_plugin_. What a test leaves on the subcontainer backend is pruned by
  // TearDown (its state is this test's own); not on docker, where `prune --all` would remove
  // every sandbox hutch manages on the daemon, other tests' too.
  HutchResult on_backend(std::vector<std::string> args) {
    if (backend_plugin_ == kSubcontainerPlugin) return hutch_on(backend_plugin_, std::move(args));
    args.insert(args.begin(), {"--backend", backend_plugin_.string()});
    return hutch(std::move(args));
  }

  void use_subcontainer() {
    backend_plugin_ = kSubcontainerPlugin;
    // The sandbox's root (another host uid when hutch runs as root) walks down to its state.
    ::chmod(dir().c_str(), 0711);
  }

  // A label only this test's sandboxes carry (the daemon is shared on docker).
  std::string test_label() const { return "hutch-cli-test=" + dir().filename().string(); }

  // The sandboxes with test_label().
  std::size_t labelled_sandboxes() {
    const HutchResult listed = on_backend({"--json", "ls", "--label", test_label()});
    EXPECT_EQ(listed.exit_code, 0) << listed.err;
    const boost::json::value listing = parse_json(listed.out);
    return listing.is_array() ? listing.as_array().size() : 0;
  }

  // The snapshots `hutch --json snapshots` lists, by id.
  std::map<std::string, boost::json::object> listed_snapshots() {
    const HutchResult result = on_backend({"--json", "snapshots"});
    EXPECT_EQ(result.exit_code, 0) << result.err;
    std::map<std::string, boost::json::object> snapshots;
    const boost::json::value listing = parse_json(result.out);
    if (!listing.is_array()) {
      ADD_FAILURE() << "snapshots --json is not an array: " << result.out;
      return snapshots;
    }
    for (const auto& entry : listing.as_array())
      snapshots[std::string(entry.at("id").as_string())] = entry.as_object();
    return snapshots;
  }

  // The whole round trip: a file written in a sandbox is seen by `run --from-snapshot` and by
  // `create --from-snapshot` + exec, though the source changed it after the snapshot; then
  // `snapshots rm` deletes the snapshot and the sandbox restored from it keeps its files.
  // `create_options` choose the image of the source sandbox.
  void round_trip(const std::vector<std::string>& create_options) {
    std::vector<std::string> create_args{"create", "--label", test_label()};
    create_args.insert(create_args.end(), create_options.begin(), create_options.end());
    const std::string source = printed_id(on_backend(create_args), "create");
    ASSERT_FALSE(source.empty());
    ASSERT_EQ(on_backend({"exec", source, "sh", "-c", "echo saved > /root/f"}).exit_code, 0);
    const std::string snapshot = printed_id(on_backend({"snapshot", source, "my-label"}), "snapshot");
    ASSERT_FALSE(snapshot.empty());
    ASSERT_EQ(on_backend({"exec", source, "sh", "-c", "echo changed > /root/f"}).exit_code, 0);

    const HutchResult table = on_backend({"snapshots"});
    ASSERT_EQ(table.exit_code, 0) << table.err;
    EXPECT_EQ(table.out.rfind("ID", 0), 0u) << table.out;
    EXPECT_NE(table.out.find("LABEL"), std::string::npos) << table.out;
    const auto row = table.out.find(snapshot);
    ASSERT_NE(row, std::string::npos) << table.out;
    const std::string line = table.out.substr(row, table.out.find('\n', row) - row);
    EXPECT_NE(line.find("my-label"), std::string::npos) << line;
    EXPECT_NE(line.find(source), std::string::npos) << line;
    EXPECT_NE(line.find('Z'), std::string::npos) << "no creation time: " << line;

    auto snapshots = listed_snapshots();
    ASSERT_EQ(snapshots.count(snapshot), 1u);
    EXPECT_EQ(snapshots[snapshot].at("label").as_string(), "my-label");
    EXPECT_EQ(snapshots[snapshot].at("source_sandbox").as_string(), source);
    EXPECT_FALSE(snapshots[snapshot].at("created").as_string().empty());

    const HutchResult ran =
        on_backend({"run", "--label", test_label(), "--from-snapshot", snapshot, "--", "cat", "/root/f"});
    EXPECT_EQ(ran.exit_code, 0) << ran.err;
    EXPECT_EQ(ran.out, "saved\n");
    EXPECT_EQ(labelled_sandboxes(), 1u) << "run left its sandbox";

    const std::string restored =
        printed_id(on_backend({"create", "--label", test_label(), "--from-snapshot", snapshot, "-e", "GREETING=hi"}),
                   "create --from-snapshot");
    ASSERT_FALSE(restored.empty());
    EXPECT_EQ(on_backend({"exec", restored, "sh", "-c", "cat /root/f; echo $GREETING"}).out, "saved\nhi\n");

    const HutchResult removed = on_backend({"snapshots", "rm", snapshot});
    EXPECT_EQ(removed.exit_code, 0) << removed.err;
    EXPECT_EQ(removed.out, snapshot + "\n");
    EXPECT_EQ(listed_snapshots().count(snapshot), 0u);
    EXPECT_EQ(on_backend({"exec", restored, "cat", "/root/f"}).out, "saved\n");
    expect_hutch_error(on_backend({"run", "--label", test_label(), "--from-snapshot", snapshot, "true"}),
                     {"no snapshot '" + snapshot + "'"});

    EXPECT_EQ(on_backend({"rm", restored, source}).exit_code, 0);
    EXPECT_EQ(labelled_sandboxes(), 0u);
  }

  fs::path backend_plugin_ = kSubcontainerPlugin;
};

TEST_F(SnapshotsCliTest, SubcontainerSnapshotIsListedRestoredByRunAndCreateAndRemoved) {
  HUTCH_NEED(user_namespaces_available() && fs::exists(kSubcontainerPlugin), "HUTCH_REQUIRE_NAMESPACES",
           "user+mount namespaces and the subcontainer plugin");
  use_subcontainer();
  round_trip({});
}

TEST_F(SnapshotsCliTest, RemoveNamesTheUnknownIdAndDeletesTheRest) {
  HUTCH_NEED(user_namespaces_available() && fs::exists(kSubcontainerPlugin), "HUTCH_REQUIRE_NAMESPACES",
           "user+mount namespaces and the subcontainer plugin");
  use_subcontainer();
  const std::string source = printed_id(on_backend({"create"}), "create");
  ASSERT_FALSE(source.empty());
  const std::string snapshot = printed_id(on_backend({"snapshot", source}), "snapshot");
  ASSERT_FALSE(snapshot.empty());

  const HutchResult result = on_backend({"snapshots", "rm", "no-such-snapshot", snapshot});
  EXPECT_EQ(result.exit_code, 125);
  EXPECT_EQ(result.out, snapshot + "\n");
  ASSERT_EQ(result.err_lines().size(), 1u) << result.err;
  EXPECT_EQ(result.err.rfind("hutch: ", 0), 0u) << result.err;
  EXPECT_NE(result.err.find("no snapshot 'no-such-snapshot'"), std::string::npos) << result.err;
  EXPECT_TRUE(listed_snapshots().empty());
  expect_hutch_error(on_backend({"snapshots", "rm", "no-such-snapshot"}), {"no-such-snapshot", "subcontainer"});
  EXPECT_EQ(on_backend({"rm", source}).exit_code, 0);
}

TEST_F(SnapshotsCliTest, UnknownSnapshotIsNamedAndNothingIsLeft) {
  HUTCH_NEED(user_namespaces_available() && fs::exists(kSubcontainerPlugin), "HUTCH_REQUIRE_NAMESPACES",
           "user+mount namespaces and the subcontainer plugin");
  use_subcontainer();
  expect_hutch_error(on_backend({"run", "--from-snapshot", "no-such-snapshot", "true"}), {"no snapshot 'no-such-snapshot'"});
  expect_hutch_error(on_backend({"create", "--from-snapshot", "no-such-snapshot"}), {"no snapshot 'no-such-snapshot'"});
  // Only snapshots are restored: an image the backend knows (the host) is not one.
  expect_hutch_error(on_backend({"run", "--from-snapshot", "host", "true"}), {"no snapshot 'host'"});
  const HutchResult listed = on_backend({"--json", "ls"});
  EXPECT_EQ(listed.out, "[]\n") << listed.err;
}

// Refused while the arguments are read, before any backend is loaded.
TEST_F(SnapshotsCliTest, ImageWithFromSnapshotIsRefused) {
  for (const std::string verb : {"run", "create"}) {
    std::vector<std::string> args{verb, "--image", "busybox:latest", "--from-snapshot", "snap-1"};
    if (verb == "run") args.insert(args.end(), {"--", "true"});
    expect_hutch_error(hutch(args), {"--image", "--from-snapshot", "snapshot's filesystem"});
  }
  EXPECT_TRUE(listed_ids().empty());
}

TEST_F(SnapshotsCliTest, BackendWithoutSnapshotsIsNamed) {
  backend_plugin_ = kLimitedPlugin;
  expect_hutch_error(on_backend({"snapshots"}), {"does not support snapshots", "cli-limited"});
  expect_hutch_error(on_backend({"snapshots", "rm", "snap-1"}), {"does not support snapshots rm", "cli-limited"});
  expect_hutch_error(on_backend({"run", "--from-snapshot", "snap-1", "true"}), {"does not support --from-snapshot"});
  expect_hutch_error(on_backend({"create", "--from-snapshot", "snap-1"}), {"does not support --from-snapshot"});
  EXPECT_TRUE(listed_ids().empty());
}

// Not through hutch_on: its TearDown runs `prune --all`, which on docker would remove every
// sandbox hutch manages on the daemon, other tests' too. The round trip removes what it made.
TEST_F(SnapshotsCliTest, DockerSnapshotIsListedRestoredByRunAndCreateAndRemoved) {
  const char* docker_host = std::getenv("DOCKER_HOST");
  const bool daemon = (docker_host != nullptr && *docker_host != '\0') || fs::exists("/var/run/docker.sock");
  HUTCH_NEED(daemon && fs::exists(kDockerPlugin), "HUTCH_REQUIRE_DOCKER", "a docker daemon and the docker plugin");
  const char* image = std::getenv("HUTCH_DOCKER_TEST_IMAGE");
  backend_plugin_ = kDockerPlugin;
  round_trip({"--image", image != nullptr && *image != '\0' ? image : "hutch-test-busybox:latest"});
}

}  // namespace
}  // namespace hutch::test
