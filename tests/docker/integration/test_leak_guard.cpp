// The leak guard (leak_guard.hpp) catches what a test leaves and what a crashed run left.
#include "docker_fixture.hpp"
#include "labels.hpp"
#include "leak_guard.hpp"

#include <gtest/gtest-spi.h>

#include <algorithm>
#include <filesystem>

#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>

namespace hutch::docker::test {
namespace {

bool contains(const std::vector<std::string>& lines, const std::string& text) {
  for (const auto& line : lines)
    if (line.find(text) != std::string::npos) return true;
  return false;
}

bool volume_exists(DockerBackend& backend, const std::string& name) {
  return engine_has(backend, "/volumes/" + name);
}

// A spec whose sandbox keeps its workspace in the persistent volume `name`.
SandboxSpec with_persistent_workspace(SandboxSpec spec, const std::string& name) {
  spec.labels[label::kUserWorkspace] = "persistent";
  spec.labels[label::kUserWorkspaceName] = name;
  return spec;
}

TEST_F(DockerTest, LeakGuardFailsForWhatATestLeftAndRemovesIt) {
  auto leaked = backend_->create(base_spec());  // not given to TearDown
  auto snapshot = leaked->snapshot("leaked");   // an image that outlives the sandbox
  const std::string volume = leaked->info().labels.at("hutch.workspace-volume");
  auto found = leftovers(*backend_, {{kRunLabel, test_run_id()}});
  EXPECT_TRUE(contains(found, "sandbox " + leaked->id())) << ::testing::PrintToString(found);
  EXPECT_TRUE(contains(found, "volume " + volume)) << ::testing::PrintToString(found);
  EXPECT_TRUE(contains(found, "image hutch-snapshot:" + snapshot.id)) << ::testing::PrintToString(found);
  EXPECT_NONFATAL_FAILURE(fail_and_remove_leftovers(*backend_, test_run_id(), "after this test"),
                          "sandbox " + leaked->id() + " (made by test 'LeakGuardFailsForWhatATestLeftAndRemovesIt')");
  EXPECT_TRUE(leftovers(*backend_, {{kRunLabel, test_run_id()}}).empty());
  EXPECT_TRUE(backend_->snapshots().end() ==
              std::find_if(backend_->snapshots().begin(), backend_->snapshots().end(),
                           [&](const SnapshotInfo& info) { return info.id == snapshot.id; }));
}

// A named persistent workspace carries no run label (it outlives its sandbox); the guard finds
// a test's by its name prefix and this process as owner.
TEST_F(DockerTest, LeakGuardFindsAPersistentTestVolumeByNameAndOwner) {
  const std::string name = kPersistentVolumePrefix + random_hex(6);
  create(with_persistent_workspace(base_spec(), name))->destroy();
  ASSERT_TRUE(volume_exists(*backend_, name)) << "the persistent workspace went with its sandbox";
  EXPECT_NONFATAL_FAILURE(fail_and_remove_leftovers(*backend_, test_run_id(), "after this test"),
                          "persistent volume " + name);
  EXPECT_FALSE(volume_exists(*backend_, name));
}

// Run only as the child of the next test (DISABLED_: never on its own): leaks a sandbox, so
// the fixture's TearDown must fail this test and remove it.
TEST_F(DockerTest, DISABLED_LeaksASandboxOnPurpose) {
  auto leaked = backend_->create(base_spec());
  std::printf("leaked %s\n", leaked->id().c_str());
}

TEST_F(DockerTest, LeakGuardFailsATestThatLeaksAndLeavesNothing) {
  const std::string command = "HUTCH_DOCKER_TEST_IMAGE='" + test_image() + "' '" +
                              std::filesystem::read_symlink("/proc/self/exe").string() +
                              "' --gtest_also_run_disabled_tests "
                              "--gtest_filter=DockerTest.DISABLED_LeaksASandboxOnPurpose 2>&1";
  FILE* child = ::popen(command.c_str(), "r");
  ASSERT_NE(child, nullptr);
  std::string output;
  char buffer[4096];
  for (std::size_t n; (n = std::fread(buffer, 1, sizeof buffer, child)) > 0;) output.append(buffer, n);
  int status = ::pclose(child);
  ASSERT_TRUE(WIFEXITED(status)) << output;
  EXPECT_EQ(WEXITSTATUS(status), 1) << "the leaking test passed:\n" << output;
  auto at = output.find("leaked hutch-");
  ASSERT_NE(at, std::string::npos) << output;
  const std::string id = output.substr(at + 7, output.find('\n', at) - at - 7);
  EXPECT_NE(output.find("leak guard: run"), std::string::npos) << output;
  EXPECT_NE(output.find("sandbox " + id + " (made by test 'DISABLED_LeaksASandboxOnPurpose')"), std::string::npos)
      << output;
  EXPECT_NE(output.find("[  FAILED  ] DockerTest.DISABLED_LeaksASandboxOnPurpose"), std::string::npos) << output;
  EXPECT_THROW(backend_->resume(id), Error) << "the leaked sandbox " << id << " is still there";
}

// A run that dies (killed, crashed) runs no TearDown: the next run's start prunes what it left.
TEST_F(DockerTest, LeakGuardPrunesWhatACrashedRunLeft) {
  const std::string crashed_run = "crashed-" + random_hex(8);
  const std::string crashed_volume = kPersistentVolumePrefix + random_hex(6);
  int to_child[2], from_child[2];
  ASSERT_EQ(::pipe(to_child), 0);
  ASSERT_EQ(::pipe(from_child), 0);
  pid_t pid = ::fork();  // this process has no other thread here: the engine client has none
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    ::close(to_child[1]);
    ::close(from_child[0]);
    int code = 1;
    try {
      auto backend = make_backend(DockerConfig{});
      auto spec = base_spec();
      spec.labels[kRunLabel] = crashed_run;
      auto sandbox = backend->create(spec);
      sandbox->snapshot("of-a-crashed-run");
      backend->create(with_persistent_workspace(spec, crashed_volume))->destroy();
      code = 0;
    } catch (const std::exception& e) {
      std::fprintf(stderr, "child: %s\n", e.what());
    }
    char go = static_cast<char>(code);
    (void)!::write(from_child[1], &go, 1);
    (void)!::read(to_child[0], &go, 1);  // alive until the parent has looked
    ::_exit(code);                       // no destructor, no TearDown: as a crash
  }
  ::close(to_child[0]);
  ::close(from_child[1]);
  char made = 1;
  ASSERT_EQ(::read(from_child[0], &made, 1), 1);
  ASSERT_EQ(made, 0) << "the child could not make its sandbox";
  auto left = leftovers(*backend_, {{kRunLabel, crashed_run}});
  EXPECT_EQ(left.size(), 3u) << ::testing::PrintToString(left);  // sandbox, volume, snapshot image
  // The owner still lives: a crashed-run prune keeps everything.
  prune_crashed_runs(*backend_);
  EXPECT_EQ(leftovers(*backend_, {{kRunLabel, crashed_run}}).size(), left.size());
  EXPECT_TRUE(volume_exists(*backend_, crashed_volume)) << "a live run's persistent volume was pruned";
  ::close(to_child[1]);
  int status = 0;
  ASSERT_EQ(::waitpid(pid, &status, 0), pid);
  ::close(from_child[0]);
  prune_crashed_runs(*backend_);
  EXPECT_TRUE(leftovers(*backend_, {{kRunLabel, crashed_run}}).empty())
      << ::testing::PrintToString(leftovers(*backend_, {{kRunLabel, crashed_run}}));
  EXPECT_FALSE(volume_exists(*backend_, crashed_volume)) << "a dead run's persistent volume was kept";
}

}  // namespace
}  // namespace hutch::docker::test
