// Sandboxes whose state directory was deleted under them: prune finds them by their cgroup and
// ends them, but only what is provably orphaned — never a sandbox of another state directory
// that shares the cgroup root. And the test guard (TempDir) that fails a test leaving one.
#include "runtime_fixture.hpp"

#include "cgroup.hpp"
#include "sandbox_record.hpp"
#include "temp_dir.hpp"

#include <gtest/gtest-spi.h>

#include <fcntl.h>
#include <sys/stat.h>

#include <algorithm>
#include <chrono>

namespace hutch::subcontainer::test {
namespace {

namespace fs = std::filesystem;

bool contains(const std::vector<std::string>& ids, const std::string& id) {
  return std::find(ids.begin(), ids.end(), id) != ids.end();
}

class PruneOrphansTest : public RuntimeTest {
 protected:
  void SetUp() override {
    RuntimeTest::SetUp();
    if (IsSkipped() || HasFatalFailure()) return;
    HUTCH_NEED(cgroups_writable(), "HUTCH_REQUIRE_NAMESPACES", "a writable cgroup hierarchy (root)");
    // A cgroup root of this process alone: the prune of a test running next to this one
    // (every RuntimeTest prunes) must not take this test's orphans first.
    runtime_->config.cgroup_root = "hutch-test-orphans-" + std::to_string(::getpid());
    auto probe = SandboxCgroup::create(runtime_->config.cgroup_root, runtime_->config.cpu_weight, "probe", {});
    ASSERT_TRUE(probe.has_value());
    for (const auto& dir : probe->dirs()) cgroup_roots_.push_back(fs::path(dir).parent_path());
    probe->remove();
  }
  void TearDown() override {
    RuntimeTest::TearDown();
    for (const auto& root : cgroup_roots_) EXPECT_EQ(::rmdir(root.c_str()), 0) << root << " is not empty";
  }

  // A backend of its own on `state_dir`, sharing this test's cgroup root, as another user of
  // hutch on this host.
  std::shared_ptr<SubcontainerBackend> backend_on(const fs::path& state_dir) {
    BackendConfig config = runtime_->config;
    config.state_root = state_dir / "subcontainer";
    config.sandboxes_dir = config.state_root / "sandboxes";
    config.volumes_dir = config.state_root / "volumes";
    config.backups_dir = config.state_root / "backups";
    config.image_store = config.state_root / "images";
    return std::make_shared<SubcontainerBackend>(make_runtime(config, runtime_->log));
  }

  // A running sandbox in `state_dir`, and its record.
  SandboxRecord sandbox_in(const fs::path& state_dir) {
    auto sandbox = backend_on(state_dir)->create({});
    return load_record(sandbox_paths(state_dir / "subcontainer" / "sandboxes", sandbox->id()).record, sandbox->id());
  }

  std::vector<fs::path> cgroup_roots_;
};

TEST_F(PruneOrphansTest, PruneEndsASandboxWhoseStateDirectoryWasDeleted) {
  const hutch::test::TempDir other("hutcho-");
  const SandboxRecord record = sandbox_in(other.path());
  ASSERT_TRUE(leader_alive(record));
  ASSERT_FALSE(record.cgroup_dirs.empty());
  // As `rm -rf` of a state directory by hand: nothing leads to the sandbox any more.
  fs::remove_all(other / "subcontainer");

  const auto removed = backend_->prune();
  EXPECT_TRUE(contains(removed, record.id)) << "prune did not report the orphan " << record.id;
  EXPECT_FALSE(leader_alive(record)) << "the orphan's leader still runs";
  for (const auto& dir : record.cgroup_dirs) EXPECT_FALSE(fs::exists(dir)) << dir;
}

TEST_F(PruneOrphansTest, PruneKeepsTheSandboxesOfAnotherStateDirectory) {
  const hutch::test::TempDir other("hutcho-");
  auto other_backend = backend_on(other.path());
  auto sandbox = other_backend->create({});
  const auto record = load_record(sandbox_paths(other / "subcontainer" / "sandboxes", sandbox->id()).record, sandbox->id());

  EXPECT_FALSE(contains(backend_->prune(Filter{{}, true}), sandbox->id()));
  EXPECT_TRUE(leader_alive(record));
  EXPECT_EQ(sh(*sandbox, "echo alive").stdout_data, "alive\n");
  other_backend->prune(Filter{{}, true});
}

TEST_F(PruneOrphansTest, PruneRemovesAnEmptyCgroupOnlyOnceACreateWouldHaveFilledIt) {
  const std::string stale_id = "0000000" + std::to_string(::getpid() % 100000);
  const std::string fresh_id = "1111111" + std::to_string(::getpid() % 100000);
  auto stale = SandboxCgroup::create(runtime_->config.cgroup_root, runtime_->config.cpu_weight, stale_id, {});
  auto fresh = SandboxCgroup::create(runtime_->config.cgroup_root, runtime_->config.cpu_weight, fresh_id, {});
  ASSERT_TRUE(stale && fresh);
  // Made two minutes ago, by a create that never started its leader.
  const timespec two_minutes_ago{::time(nullptr) - 120, 0};
  const timespec times[2] = {two_minutes_ago, two_minutes_ago};
  for (const auto& dir : stale->dirs()) ASSERT_EQ(::utimensat(AT_FDCWD, dir.c_str(), times, 0), 0) << dir;

  const auto removed = backend_->prune();
  EXPECT_TRUE(contains(removed, stale_id));
  EXPECT_FALSE(contains(removed, fresh_id)) << "a cgroup a create may be about to use was removed";
  for (const auto& dir : stale->dirs()) EXPECT_FALSE(fs::exists(dir)) << dir;
  for (const auto& dir : fresh->dirs()) EXPECT_TRUE(fs::exists(dir)) << dir;
  fresh->remove();
}

TEST_F(PruneOrphansTest, TempDirFailsTheTestThatLeftASandboxAndEndsIt) {
  SandboxRecord record;
  EXPECT_NONFATAL_FAILURE(
      {
        const hutch::test::TempDir forgotten("hutcho-");
        record = sandbox_in(forgotten.path());
      },
      "processes still run from");
  EXPECT_FALSE(leader_alive(record)) << "the guard did not end the sandbox";
  for (const auto& dir : record.cgroup_dirs) EXPECT_FALSE(fs::exists(dir)) << dir;
}

}  // namespace
}  // namespace hutch::subcontainer::test
