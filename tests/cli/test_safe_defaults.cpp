// Safe defaults for untrusted code: a sandbox gets memory 2g and pids 1024 unless the spec or
// the config says otherwise ("unlimited" included); a fork bomb and a memory balloon in a
// default sandbox end inside it while the host keeps working, on subcontainer and docker; and
// rootless without a delegated cgroup, `hutch backends` says the limits are not enforced while
// sandboxes are still made.
#include "real_backends.hpp"

#include <fcntl.h>
#include <spawn.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdlib>
#include <thread>

namespace hutch::test {
namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

// Held while a test stresses the host on purpose (a fork bomb, a memory balloon): CTest runs
// tests side by side, and two such tests at once (one per backend) measured each other's load
// instead of their own sandbox's (the host took 5.4 s to start a process).
class HostStressLock {
 public:
  HostStressLock() : fd_(::open("/tmp/hutch-tests-host-stress.lock", O_RDWR | O_CREAT | O_CLOEXEC, 0666)) {
    if (fd_ >= 0) ::flock(fd_, LOCK_EX);
  }
  ~HostStressLock() {
    if (fd_ >= 0) ::close(fd_);
  }
  HostStressLock(const HostStressLock&) = delete;
  HostStressLock& operator=(const HostStressLock&) = delete;

 private:
  int fd_;
};

class SafeDefaultsTest : public EachBackendCliTest {
 protected:
  void SetUp() override {
    EachBackendCliTest::SetUp();
    if (GetParam() == "docker") image_ = {"--image", docker_test_image()};
  }

  // `hutch inspect --json` of a sandbox made with `options`, its limits object.
  boost::json::object limits_of_created(std::vector<std::string> options) {
    options.insert(options.begin(), "create");
    options.insert(options.end(), image_.begin(), image_.end());
    const HutchResult created = on_backend(options);
    EXPECT_EQ(created.exit_code, 0) << created.err;
    if (created.exit_code != 0) return {};
    const std::string id = created.out.substr(0, created.out.size() - 1);
    const HutchResult inspected = on_backend({"--json", "inspect", id});
    EXPECT_EQ(on_backend({"rm", id}).exit_code, 0);
    EXPECT_EQ(inspected.exit_code, 0) << inspected.err;
    return parse_json(inspected.out).at("spec").at("limits").as_object();
  }

  std::vector<std::string> image_;
};

TEST_P(SafeDefaultsTest, ASandboxGets2gAnd1024UnlessToldOtherwise) {
  auto limits = limits_of_created({});
  EXPECT_EQ(limits["memory_bytes"], boost::json::value(2ull << 30));
  EXPECT_EQ(limits["pids"], boost::json::value(1024));

  limits = limits_of_created({"--memory", "unlimited", "--pids", "unlimited"});
  EXPECT_TRUE(limits["memory_bytes"].is_null()) << limits;
  EXPECT_TRUE(limits["pids"].is_null()) << limits;

  limits = limits_of_created({"--memory", "256m", "--pids", "100"});
  EXPECT_EQ(limits["memory_bytes"], boost::json::value(256u << 20));
  EXPECT_EQ(limits["pids"], boost::json::value(100));
  EXPECT_FALSE(limits["pids_defaulted"].as_bool());

  write_config("memory = \"unlimited\"\npids = 300");
  limits = limits_of_created({});
  EXPECT_TRUE(limits["memory_bytes"].is_null()) << limits;
  EXPECT_EQ(limits["pids"], boost::json::value(300));
}

TEST_P(SafeDefaultsTest, BadLimitsAreHutchErrorsNamingTheOption) {
  expect_hutch_error(hutch({"create", "--pids", "0"}), {"--pids", "'0'"});
  expect_hutch_error(hutch({"create", "--memory", "lots"}), {"--memory", "lots"});
}

// The longest the host took to start and reap /bin/true while `busy` was set.
class HostProbe {
 public:
  HostProbe() : thread_([this] { run(); }) {}
  ~HostProbe() { stop(); }
  Clock::duration stop() {
    done_ = true;
    if (thread_.joinable()) thread_.join();
    return worst_;
  }

 private:
  void run() {
    while (!done_) {
      const auto start = Clock::now();
      pid_t pid = 0;
      char arg0[] = "true";
      char* argv[] = {arg0, nullptr};
      if (::posix_spawn(&pid, "/bin/true", nullptr, nullptr, argv, nullptr) == 0) ::waitpid(pid, nullptr, 0);
      else worst_ = std::chrono::hours(1);  // the host could not start a process at all
      worst_ = std::max(worst_, Clock::now() - start);
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
  }
  std::atomic<bool> done_{false};
  Clock::duration worst_{};
  std::thread thread_;
};

TEST_P(SafeDefaultsTest, AForkBombEndsInsideADefaultSandbox) {
  if (GetParam() == "fake") GTEST_SKIP() << "the fake backend runs no real processes";
  // Subcontainer: sandboxes yield the CPU to the host (cpu_weight). With the kernel's default
  // weight, a thousand busy processes at the pids limit slowed the host's process starts to
  // 4-8 s on the 2-core CI machine.
  if (GetParam() == "subcontainer") write_config("", "[backends.subcontainer]\ncpu_weight = 10\n");
  HostStressLock alone;
  HostProbe probe;
  const auto start = Clock::now();
  // 20 s: at cpu_weight 10 on a host busy with other work (compilers beside the tests), the
  // bomb took more than 10 s to reach its pids limit.
  std::vector<std::string> args{"--json", "run", "--timeout", "20s", "--max-output", "64k"};
  args.insert(args.end(), image_.begin(), image_.end());
  // Every level waits for its pipeline, so the bomb grows until forks fail and mostly holds its
  // processes until the timeout; but a level whose own fork fails ends (busybox sh exits on a
  // failed fork), and the whole bomb sometimes collapses early. The command's first process
  // therefore becomes a sleep that outlives the timeout: the run always ends by the timeout's
  // kill of the whole tree, bomb included.
  args.insert(args.end(), {"--", "sh", "-c", "bomb() { bomb | bomb; }; bomb & exec sleep 60"});
  const HutchResult result = on_backend(args);
  const auto worst = probe.stop();
  EXPECT_EQ(result.exit_code, 124) << result.err;
  const auto object = parse_json(result.out);
  // The pids limit was hit inside: forks there failed.
  EXPECT_NE(object.at("stderr").as_string().find("fork"), boost::json::string::npos) << result.out.substr(0, 2000);
  EXPECT_LT(Clock::now() - start, std::chrono::seconds(60));
  EXPECT_LT(worst, std::chrono::seconds(5)) << "the host took "
      << std::chrono::duration_cast<std::chrono::milliseconds>(worst).count() << " ms to start a process";
}

TEST_P(SafeDefaultsTest, AMemoryBalloonEndsInsideADefaultSandbox) {
  if (GetParam() == "fake") GTEST_SKIP() << "the fake backend runs no real processes";
  HostStressLock alone;
  HostProbe probe;
  std::vector<std::string> args{"--json", "run", "--timeout", "120s"};
  args.insert(args.end(), image_.begin(), image_.end());
  args.insert(args.end(), {"--", "tail", "/dev/zero"});
  const HutchResult result = on_backend(args);
  const auto worst = probe.stop();
  // Killed by the out-of-memory killer of its own cgroup, long before the timeout.
  EXPECT_EQ(result.exit_code, 137) << result.err << result.out;
  const auto object = parse_json(result.out);
  EXPECT_FALSE(object.at("timed_out").as_bool());
  EXPECT_EQ(object.at("signal"), boost::json::value(9));
  EXPECT_LT(worst, std::chrono::seconds(5));
}

INSTANTIATE_TEST_SUITE_P(Backends, SafeDefaultsTest, kEachBackend, backend_test_name);

// Rootless without a delegated cgroup: limits cannot be enforced. `hutch backends` says so, and
// a default sandbox is still made (an explicit limit stays an error).
TEST_F(HutchCliTest, RootlessWithoutCgroupSaysDefaultLimitsAreNotEnforced) {
  HUTCH_NEED(::geteuid() == 0 && subcontainer_usable() && ::access("/usr/bin/setpriv", X_OK) == 0,
             "HUTCH_REQUIRE_NAMESPACES", "root (to switch to nobody), setpriv, namespaces and the subcontainer plugin");
  ::chmod(dir().c_str(), 0755);
  fs::create_directories(dir() / "nobody");
  ASSERT_EQ(::chown((dir() / "nobody").c_str(), 65534, 65534), 0);
  write_file(dir() / "nobody.toml", "[defaults]\nbackend = \"subcontainer\"\nstate_dir = \"" +
                                        (dir() / "nobody" / "state").string() + "\"\n[plugins]\npaths = [\"" +
                                        HUTCH_PLUGIN_OUTPUT_DIR + "\"]\n");
  ::chmod((dir() / "nobody.toml").c_str(), 0644);
  // hutch as nobody (the words need no quoting), its output collected through files.
  auto as_nobody = [&](const std::vector<std::string>& args) {
    std::string command = "/usr/bin/setpriv --reuid=nobody --regid=nogroup --clear-groups env HOME=" +
                          (dir() / "nobody").string() + " XDG_RUNTIME_DIR= " + HUTCH_EXE + " --config " +
                          (dir() / "nobody.toml").string();
    for (const std::string& arg : args) command += " '" + arg + "'";
    command += " >" + (dir() / "out").string() + " 2>" + (dir() / "err").string();
    const int status = std::system(command.c_str());
    return HutchResult{WIFEXITED(status) ? WEXITSTATUS(status) : -1, read_file(dir() / "out"), read_file(dir() / "err")};
  };
  const HutchResult backends = as_nobody({"backends"});
  EXPECT_EQ(backends.exit_code, 0) << backends.err;
  EXPECT_NE(backends.err.find("memory and pids limits are not enforced"), std::string::npos) << backends.err;

  const HutchResult ran = as_nobody({"run", "--", "echo", "made"});
  EXPECT_EQ(ran.exit_code, 0) << ran.err;
  EXPECT_EQ(ran.out, "made\n");
  const HutchResult explicit_limit = as_nobody({"run", "--pids", "100", "--", "true"});
  EXPECT_EQ(explicit_limit.exit_code, 125) << explicit_limit.err;
  EXPECT_NE(explicit_limit.err.find("cgroup"), std::string::npos) << explicit_limit.err;
  as_nobody({"prune", "--all"});
}

}  // namespace
}  // namespace hutch::test
