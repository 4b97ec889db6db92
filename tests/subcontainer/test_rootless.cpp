// The same runtime as an unprivileged user: the test binary re-runs a few of its own tests
// under setpriv as nobody, with a state directory nobody can write.
#include "runtime_fixture.hpp"
#include "temp_dir.hpp"

#include <sys/stat.h>

#include <cstdlib>
#include <fstream>

namespace fs = std::filesystem;

TEST(SubcontainerRootless, CoreTestsPassAsNobody) {
  HUTCH_NEED(::geteuid() == 0 && hutch::subcontainer::test::namespaces_available() &&
               ::access("/usr/bin/setpriv", X_OK) == 0,
           "HUTCH_REQUIRE_NAMESPACES", "root (to switch to nobody), setpriv and namespaces");
  if (::getenv("HUTCH_TEST_STATE_ROOT") != nullptr) GTEST_SKIP() << "already the rootless re-run";
  const hutch::test::TempDir state_dir("hutch-rootless-");
  const fs::path& state = state_dir.path();
  ASSERT_EQ(::chown(state.c_str(), 65534, 65534), 0) << state;
  std::string self = fs::read_symlink("/proc/self/exe").string();
  fs::path log = state / "log";
  std::string command = "setpriv --reuid=nobody --regid=nogroup --clear-groups env HUTCH_TEST_STATE_ROOT=" +
                        state.string() + " HUTCH_REQUIRE_NAMESPACES=1 " + self +
                        " --gtest_filter='RuntimeTest.Exec*:RuntimeTest.Spawn*:RuntimeTest.Timeout*:"
                        "RuntimeTest.Fork*:RuntimeTest.Isolation*:RuntimeTest.OnlyThe*:RuntimeTest.Seccomp*:"
                        "RuntimeTest.Resume*:RuntimeTest.Shepherds*:RuntimeTest.AnIdle*:RuntimeTest.Concurrent*:"
                        "RuntimeTest.Fs*:FsConfinementTest.AReadThrough*:SandboxFsTest.Write*:SandboxFsTest.Mkdir*:"
                        "SandboxFsTest.Absolute*:SandboxFsTest.TheHelper*:RuntimeTest.ShepherdMemory*:LaunchTest.*' > " +
                        log.string() + " 2>&1";
  int status = std::system(command.c_str());
  std::ifstream in(log);
  std::string output((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  ASSERT_EQ(status, 0) << output;
  EXPECT_NE(output.find("[  PASSED  ]"), std::string::npos) << output;
  EXPECT_EQ(output.find("SKIPPED"), std::string::npos) << output;
}
