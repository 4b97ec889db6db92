// Handle::set_env's bookkeeping (<hutch/env_changes.hpp>): how changes combine, what a command
// gets, and the state file several processes update under a lock.
#include <hutch/env_changes.hpp>
#include <hutch/error.hpp>

#include "error_of.hpp"
#include "temp_dir.hpp"

#include <gtest/gtest.h>

#include <sys/wait.h>
#include <unistd.h>

#include <fstream>
#include <string>
#include <vector>

namespace hutch {
namespace {

TEST(EnvChanges, LaterCallsReplaceWhatEarlierOnesSaidAboutAKey) {
  EnvChanges changes;
  add_env_change(changes, {{"A", "1"}, {"B", "2"}}, {"C"});
  add_env_change(changes, {{"C", "3"}}, {"A"});
  EXPECT_EQ(changes.set, (Env{{"B", "2"}, {"C", "3"}}));
  EXPECT_EQ(changes.unset, std::vector<std::string>{"A"});
  // Unset wins over the spec's and the image's value; set adds or replaces.
  EXPECT_EQ(apply_env_changes({{"A", "spec"}, {"B", "spec"}, {"D", "spec"}}, changes),
            (Env{{"B", "2"}, {"C", "3"}, {"D", "spec"}}));
  // For an exec: a bare key unsets (the Engine's and hutch-agent's convention).
  EXPECT_EQ(env_change_entries(changes), (std::vector<std::string>{"A", "B=2", "C=3"}));
}

TEST(EnvChanges, BadKeysAndAKeyInBothListsAreRefused) {
  EXPECT_EQ(test::code_of([] { validate_env_change({{"A=B", "1"}}, {}); }), Errc::invalid_argument);
  EXPECT_EQ(test::code_of([] { validate_env_change({}, {""}); }), Errc::invalid_argument);
  Error both = test::error_of([] { validate_env_change({{"K", "1"}}, {"K"}); });
  EXPECT_EQ(both.code(), Errc::invalid_argument);
  EXPECT_NE(std::string(both.what()).find("'K' is both set and unset"), std::string::npos) << both.what();
  EXPECT_NO_THROW(validate_env_change({{"K", "v=w"}}, {"L"}));
}

TEST(EnvChanges, TheStateFileAddsUpAcrossProcesses) {
  test::TempDir dir;
  const auto file = dir / "env.json";
  EXPECT_TRUE(read_env_changes(file).empty()) << "no file: no changes";
  update_env_changes(file, {{"FIRST", "1"}}, {});
  // Twenty processes each add a key at the same time: the lock keeps every one.
  std::vector<pid_t> children;
  for (int i = 0; i < 20; ++i) {
    pid_t pid = ::fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
      try {
        update_env_changes(file, {{"K" + std::to_string(i), std::to_string(i)}}, {});
        ::_exit(0);
      } catch (...) {
        ::_exit(1);
      }
    }
    children.push_back(pid);
  }
  for (pid_t pid : children) {
    int status = 0;
    ASSERT_EQ(::waitpid(pid, &status, 0), pid);
    EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  }
  const EnvChanges changes = update_env_changes(file, {}, {"FIRST"});
  EXPECT_EQ(changes.set.size(), 20u);
  EXPECT_EQ(changes.unset, std::vector<std::string>{"FIRST"});
  EXPECT_EQ(read_env_changes(file), changes);
}

TEST(EnvChanges, ADamagedStateFileIsNamed) {
  test::TempDir dir;
  const auto file = dir / "env.json";
  std::ofstream(file) << "{\"set\": 3}";
  Error e = test::error_of([&] { read_env_changes(file); });
  EXPECT_EQ(e.code(), Errc::backend);
  EXPECT_NE(std::string(e.what()).find(file.string()), std::string::npos) << e.what();
}

}  // namespace
}  // namespace hutch
