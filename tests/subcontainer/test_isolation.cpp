// What a sandboxed command must not reach: host files, processes, network, cgroups, the
// kernel calls the seccomp filter denies; and host memory stays bounded under a 10 GiB output flood.
#include "runtime_fixture.hpp"

#include <hutch/error.hpp>

#include <fstream>

using namespace hutch;
using hutch::subcontainer::test::RuntimeTest;

namespace {

std::uint64_t resident_kib() {
  std::ifstream in("/proc/self/status");
  std::string line;
  while (std::getline(in, line))
    if (line.rfind("VmRSS:", 0) == 0) return std::stoull(line.substr(6));
  return 0;
}

}  // namespace

TEST_F(RuntimeTest, HostFilesOutsideTheImageAreOutOfReach) {
  auto sandbox = backend_->create({});
  // The state dir (host /tmp) and the build tree exist on the host, not inside.
  auto result = sh(*sandbox, "ls " + state_dir_.string() + " " + std::string(HUTCH_BUILD_DIR) + " 2>&1; echo rc=$?");
  EXPECT_EQ(result.stdout_data.find("rc=0"), std::string::npos) << result.stdout_data;
  EXPECT_NE(result.stdout_data.find("No such file"), std::string::npos) << result.stdout_data;
  EXPECT_NE(sh(*sandbox, "touch /usr/hutch-escape").exit_code, 0) << "the host's /usr is read-only inside";
}

TEST_F(RuntimeTest, OnlyTheSandboxsProcessesAreVisible) {
  auto sandbox = backend_->create({});
  auto result = sh(*sandbox, "ls -d /proc/[0-9]* | wc -l; cat /proc/1/cmdline | tr '\\0' ' '");
  // PID 1 (the leader), the shepherd serving this exec, sh, ls/wc/cat:
  // far fewer than the host runs.
  EXPECT_LT(std::stoi(result.stdout_data), 10) << result.stdout_data;
  EXPECT_NE(result.stdout_data.find("hutch-subcontainer-helper"), std::string::npos) << result.stdout_data;
}

TEST_F(RuntimeTest, NetworkNoneHasOnlyLoopbackAndItIsUp) {
  auto sandbox = backend_->create({});
  auto result = sh(*sandbox, "cat /proc/net/dev | tail -n +3 | cut -d: -f1 | tr -d ' '");
  EXPECT_EQ(result.stdout_data, "lo\n");
  auto flags = sh(*sandbox, "cat /sys/class/net/lo/operstate 2>/dev/null || cat /proc/net/if_inet6 | wc -l");
  EXPECT_EQ(flags.exit_code, 0);
}

TEST_F(RuntimeTest, CgroupNamespaceHidesTheHostHierarchy) {
  auto sandbox = backend_->create({});
  auto result = sh(*sandbox, "cat /proc/self/cgroup");
  EXPECT_EQ(result.stdout_data.find("/hutch"), std::string::npos) << result.stdout_data;
}

TEST_F(RuntimeTest, SeccompAndCapabilitiesAreApplied) {
  auto sandbox = backend_->create({});
  auto status = sh(*sandbox, "grep -E '^(NoNewPrivs|Seccomp):' /proc/self/status");
  EXPECT_NE(status.stdout_data.find("NoNewPrivs:\t1"), std::string::npos) << status.stdout_data;
  EXPECT_NE(status.stdout_data.find("Seccomp:\t2"), std::string::npos) << status.stdout_data;
  auto bounding = sh(*sandbox, "grep CapBnd /proc/self/status");
  EXPECT_EQ(bounding.stdout_data.find("000001ffffffffff"), std::string::npos) << "bounding set not dropped";
  auto unshare = sh(*sandbox, "unshare -U true 2>&1; echo rc=$?");
  EXPECT_NE(unshare.stdout_data.find("Operation not permitted"), std::string::npos) << unshare.stdout_data;
  auto mount = sh(*sandbox, "mount -t tmpfs none /mnt 2>&1; echo rc=$?");
  EXPECT_EQ(mount.stdout_data.find("rc=0"), std::string::npos) << mount.stdout_data;
}

TEST_F(RuntimeTest, RootInsideIsAnUnprivilegedIdOutside) {
  auto sandbox = backend_->create({});
  auto map = sh(*sandbox, "cat /proc/self/uid_map");
  std::istringstream fields(map.stdout_data);
  unsigned long inside = 1, outside = 0, count = 0;
  fields >> inside >> outside >> count;
  EXPECT_EQ(inside, 0u);
  EXPECT_NE(outside, 0u) << "root inside must not be root outside";
}

TEST_F(RuntimeTest, TenGigabytesOfOutputLeaveHostMemoryBounded) {
  auto sandbox = backend_->create({});
  auto before = resident_kib();
  ExecRequest request;
  request.argv = {"sh", "-c", "head -c 10737418240 /dev/zero"};
  request.output_limit = 1 << 20;
  auto result = sandbox->exec(request);
  auto after = resident_kib();
  EXPECT_EQ(result.exit_code, 0);
  EXPECT_TRUE(result.stdout_truncated);
  EXPECT_EQ(result.stdout_data.size(), 1u << 20);
  EXPECT_LT(after - std::min(after, before), 64u * 1024) << "host RSS grew by " << (after - before) << " KiB";
}
