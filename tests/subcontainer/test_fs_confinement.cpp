// Host-side file operations (Fs) of a live sandbox act with the sandbox's own credentials and
// never open a file on a kernel interface filesystem (issue 12, findings 2 and 5). A sandbox
// controls every symlink in its tree, and the entries of its own /proc mount are the host
// kernel's global ones: before the fix, a host write through /tmp/result.txt ->
// /proc/irq/default_smp_affinity changed the host's value, and a host read of
// /workspace/out/kallsyms after `ln -sfn /proc /workspace/out` returned the host's addresses.
#include "runtime_fixture.hpp"

#include "error_of.hpp"
#include "fs_helper_processes.hpp"
#include "handle.hpp"
#include "host_files.hpp"

#include <gtest/gtest.h>

#include <linux/magic.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>

namespace hutch::subcontainer::test {
namespace {

namespace fs = std::filesystem;
using hutch::test::message_of;
using hutch::test::read_file;

// Puts a kernel setting back if a test changed it (the code before the fix did).
class KernelValueGuard {
 public:
  explicit KernelValueGuard(fs::path file) : file_(std::move(file)), original_(read_file(file_)) {}
  ~KernelValueGuard() {
    if (read_file(file_) != original_) std::ofstream(file_) << original_;
  }
  const std::string& original() const { return original_; }

 private:
  fs::path file_;
  std::string original_;
};

class FsConfinementTest : public RuntimeTest {
 protected:
  // Runs a script inside that must succeed.
  void inside(Handle& sandbox, const std::string& script) {
    const ExecResult result = sh(sandbox, script);
    ASSERT_EQ(result.exit_code, 0) << script << ": " << result.stderr_data;
  }
  // The refusal names the path and the filesystem.
  static void expect_refused_on(const std::string& message, const std::string& path, const std::string& filesystem) {
    EXPECT_NE(message.find("'" + path + "'"), std::string::npos) << message;
    EXPECT_NE(message.find(filesystem), std::string::npos) << message;
  }
};

// Finding 2, as the red team did it, and the same through a symlinked directory into /proc/sys.
TEST_F(FsConfinementTest, AWriteThroughASymlinkIntoProcNeverChangesTheHostsValue) {
  const fs::path affinity = "/proc/irq/default_smp_affinity";
  const fs::path msgmni = "/proc/sys/kernel/msgmni";
  HUTCH_NEED(::geteuid() == 0 && fs::exists(affinity) && fs::exists(msgmni), "HUTCH_REQUIRE_NAMESPACES",
             "a root host (whose writes reached these files before the fix) with " + affinity.string());
  const KernelValueGuard affinity_guard(affinity);
  const KernelValueGuard msgmni_guard(msgmni);
  auto sandbox = backend_->create({});
  inside(*sandbox, "ln -sf /proc/irq/default_smp_affinity /tmp/result.txt && ln -sfn /proc/sys/kernel /tmp/k");

  // Values the host accepts (one CPU; a valid msgmni), different from what it has now.
  const std::string new_affinity = affinity_guard.original() == "1\n" ? "2\n" : "1\n";
  const std::string new_msgmni = msgmni_guard.original() == "1000\n" ? "1001\n" : "1000\n";
  expect_refused_on(message_of(Errc::permission_denied, [&] { sandbox->fs().write("/tmp/result.txt", new_affinity); }),
                    "/tmp/result.txt", "on proc,");
  expect_refused_on(message_of(Errc::permission_denied, [&] { sandbox->fs().write("/tmp/k/msgmni", new_msgmni); }),
                    "/tmp/k/msgmni", "on proc,");
  EXPECT_EQ(read_file(affinity), affinity_guard.original()) << "the host's IRQ affinity changed";
  EXPECT_EQ(read_file(msgmni), msgmni_guard.original()) << "the host's msgmni changed";
  // Nothing was made in their place either.
  EXPECT_EQ(sh(*sandbox, "readlink /tmp/result.txt").stdout_data, "/proc/irq/default_smp_affinity\n");
}

// Finding 5: reads through a directory symlink into /proc, a final symlink to a /proc file, and
// /proc itself are refused before anything there is opened. (/proc/self leads nowhere: the fs
// helper is not in the sandbox's pid namespace.)
TEST_F(FsConfinementTest, AReadThroughASymlinkIntoProcIsRefused) {
  auto sandbox = backend_->create({});
  inside(*sandbox, "mkdir -p /workspace && ln -sfn /proc /workspace/out && ln -s /proc/kallsyms /workspace/k");
  hutch::Fs& files = sandbox->fs();
  expect_refused_on(message_of(Errc::permission_denied, [&] { files.read("/workspace/out/kallsyms"); }),
                    "/workspace/out/kallsyms", "on proc,");
  expect_refused_on(message_of(Errc::permission_denied, [&] { files.read("/workspace/out/vmallocinfo"); }),
                    "/workspace/out/vmallocinfo", "on proc,");
  expect_refused_on(message_of(Errc::permission_denied, [&] { files.read("/workspace/k"); }), "/workspace/k", "on proc,");
  expect_refused_on(message_of(Errc::permission_denied, [&] { files.read("/proc/1/environ"); }), "/proc/1/environ",
                    "on proc,");
  expect_refused_on(message_of(Errc::permission_denied, [&] { files.list("/workspace/out"); }), "/workspace/out",
                    "on proc,");
  // stat is an lstat of the link and opens nothing: still answered.
  EXPECT_EQ(files.stat("/workspace/k").link_target, "/proc/kallsyms");
}

// The other kernel interface filesystems are refused the same way: here host sysfs and a cgroup
// hierarchy, bound into the sandbox (the code before the fix made a cgroup on the host).
TEST_F(FsConfinementTest, SysfsAndCgroupfsAreRefusedToo) {
  // The hierarchy a root host can write: cgroup v2 at /sys/fs/cgroup, or v1's pids controller.
  fs::path cgroups;
  std::string cgroup_filesystem;
  for (const char* candidate : {"/sys/fs/cgroup", "/sys/fs/cgroup/pids", "/sys/fs/cgroup/unified"}) {
    struct statfs info {};
    if (cgroups.empty() && ::statfs(candidate, &info) == 0 &&
        (info.f_type == CGROUP2_SUPER_MAGIC || info.f_type == CGROUP_SUPER_MAGIC)) {
      cgroups = candidate;
      cgroup_filesystem = info.f_type == CGROUP2_SUPER_MAGIC ? "on cgroup2," : "on cgroup,";
    }
  }
  HUTCH_NEED(::geteuid() == 0 && !cgroups.empty(), "HUTCH_REQUIRE_NAMESPACES", "a root host with a cgroup hierarchy");
  runtime_->config.bind_allow = {"/sys"};
  SandboxSpec spec;
  spec.mounts = {Mount{MountType::bind, "/sys/kernel", "/hostsys", true}, Mount{MountType::bind, cgroups.string(), "/cg"}};
  auto sandbox = backend_->create(spec);
  inside(*sandbox, "ln -s /hostsys/uevent_seqnum /tmp/seq && ln -sfn /cg /tmp/cg");
  hutch::Fs& files = sandbox->fs();
  expect_refused_on(message_of(Errc::permission_denied, [&] { files.read("/tmp/seq"); }), "/tmp/seq", "on sysfs,");
  const std::string made = "hutch-fs-test-" + std::to_string(::getpid());
  struct RemoveCgroup {
    fs::path dir;
    ~RemoveCgroup() { ::rmdir(dir.c_str()); }
  } remove_cgroup{cgroups / made};
  expect_refused_on(message_of(Errc::permission_denied, [&] { files.mkdir("/tmp/cg/" + made); }), "/tmp/cg/" + made,
                    cgroup_filesystem);
  EXPECT_FALSE(fs::exists(cgroups / made)) << "the host made a cgroup for the sandbox";
  expect_refused_on(message_of(Errc::permission_denied, [&] { files.read("/cg/cgroup.procs"); }), "/cg/cgroup.procs",
                    cgroup_filesystem);
}

// What root inside may do keeps working: files of other sandbox users, volumes, the tmpfs /tmp
// of a read-only root; what the host creates belongs to root inside.
TEST_F(FsConfinementTest, VolumesTmpfsAndOtherUsersFilesStayReachable) {
  HUTCH_NEED(::geteuid() == 0, "HUTCH_REQUIRE_NAMESPACES", "a sandbox with more than one user needs a root host");
  SandboxSpec spec;
  spec.read_only_root = true;
  spec.mounts = {Mount{MountType::volume, "fsvol", "/data"}, Mount{MountType::tmpfs, "", "/scratch"}};
  auto sandbox = backend_->create(spec);
  inside(*sandbox, "mkdir -p /data/u && echo secret > /data/u/s && chown -R 1000:1000 /data/u &&"
                   " chmod 700 /data/u && chmod 600 /data/u/s");
  hutch::Fs& files = sandbox->fs();
  EXPECT_EQ(files.read("/data/u/s"), "secret\n");
  files.write("/data/u/s", "changed\n", 0600);
  files.write("/data/new", "n");
  files.write("/tmp/t", "t");
  files.mkdir("/scratch/d/e", true);
  files.write("/scratch/d/e/f", "f");
  files.rename("/scratch/d/e/f", "/scratch/g");
  files.symlink("g", "/scratch/link");
  EXPECT_EQ(files.read("/scratch/link"), "f");
  EXPECT_EQ(sh(*sandbox, "cat /data/u/s; stat -c '%u %a' /data/u/s /data/new /tmp/t /scratch/d/e /scratch/g /scratch/link")
                .stdout_data,
            "changed\n1000 600\n0 644\n0 644\n0 755\n0 644\n0 777\n");
  EXPECT_EQ(files.stat("/data/u/s").uid, 1000u);
  EXPECT_EQ(files.stat("/data/new").uid, 0u);
  files.remove("/scratch/d", true);
  EXPECT_EQ(sh(*sandbox, "ls /scratch").stdout_data, "g\nlink\n");
}

// A host file bound into the sandbox keeps its host owner, which the sandbox's user namespace
// does not map: root inside cannot read a 0600 one, and neither can the host through Fs.
TEST_F(FsConfinementTest, AHostOnlyFileBoundIntoTheSandboxIsNotReadableThroughFs) {
  HUTCH_NEED(::geteuid() == 0, "HUTCH_REQUIRE_NAMESPACES", "a file only host root can read");
  const fs::path shared = state_dir_ / "shared";
  fs::create_directories(shared);
  { std::ofstream(shared / "secret") << "host only\n"; }
  ASSERT_EQ(::chmod((shared / "secret").c_str(), 0600), 0);
  ASSERT_EQ(::chmod(shared.c_str(), 0777), 0);
  runtime_->config.bind_allow = {shared.string()};
  SandboxSpec spec;
  spec.mounts = {Mount{MountType::bind, shared.string(), "/shared"}};
  auto sandbox = backend_->create(spec);
  EXPECT_NE(sh(*sandbox, "cat /shared/secret").exit_code, 0) << "root inside can read the host's file";

  hutch::Fs& files = sandbox->fs();
  message_of(Errc::permission_denied, [&] { files.read("/shared/secret"); });
  message_of(Errc::permission_denied, [&] { files.write("/shared/secret", "overwritten\n"); });
  EXPECT_EQ(read_file(shared / "secret"), "host only\n");
  // The directory is world-writable: a file made there belongs to the sandbox's root.
  files.write("/shared/made", "x");
  struct stat made {};
  ASSERT_EQ(::stat((shared / "made").c_str(), &made), 0);
  EXPECT_NE(made.st_uid, 0u) << "the host made the file as host root";
  EXPECT_EQ(files.stat("/shared/made").uid, 0u);
}

// The fs helper is root of the sandbox's user namespace (the host ids that are root inside) with
// the file capabilities only, not dumpable, and outside the sandbox's pid namespace, where no
// sandbox process can reach it.
TEST_F(FsConfinementTest, TheFsHelperHasTheSandboxRootsCredentialsAndStaysOutside) {
  auto sandbox = backend_->create({});
  const auto& record = dynamic_cast<SubcontainerHandle&>(*sandbox).record();
  ASSERT_TRUE(fs_helper_processes().empty());
  sandbox->fs().stat("/");
  const auto helpers = fs_helper_processes();
  ASSERT_EQ(helpers.size(), 1u);
  const fs::path helper = "/proc/" + std::to_string(helpers[0]);
  const fs::path leader = "/proc/" + std::to_string(record.leader_pid);
  const std::string root = std::to_string(record.root_uid);
  const std::string status = read_proc_file(helper / "status");
  EXPECT_NE(status.find("\nUid:\t" + root + "\t" + root + "\t" + root + "\t" + root + "\n"), std::string::npos) << status;
  // Rootless, the namespace denies setgroups and the caller's groups stay, as for the sandbox.
  // (The kernel ends the list with a space.)
  if (::geteuid() == 0) EXPECT_NE(status.find("\nGroups:\t \n"), std::string::npos) << status;
  // Of its capabilities there, only dac_override, dac_read_search, fowner and fsetid.
  EXPECT_NE(status.find("\nCapEff:\t000000000000001e\n"), std::string::npos) << status;
  EXPECT_NE(status.find("\nCapBnd:\t000000000000001e\n"), std::string::npos) << status;
  EXPECT_EQ(fs::read_symlink(helper / "ns" / "user"), fs::read_symlink(leader / "ns" / "user"));
  EXPECT_EQ(fs::read_symlink(helper / "ns" / "pid"), fs::read_symlink("/proc/self/ns/pid"));
  EXPECT_NE(fs::read_symlink(helper / "ns" / "pid"), fs::read_symlink(leader / "ns" / "pid"));
  if (record.root_uid != ::geteuid()) {
    // A non-dumpable process's /proc files (but its directory) belong to host root, whatever
    // its own ids.
    struct stat info {};
    ASSERT_EQ(::stat((helper / "status").c_str(), &info), 0);
    EXPECT_EQ(info.st_uid, 0u) << "the fs helper is dumpable";
  }
  // Gone with its sandbox's handle.
  sandbox->destroy();
  EXPECT_TRUE(fs_helper_processes().empty());
}

TEST_F(FsConfinementTest, FsWorksWhileTheSandboxIsPaused) {
  HUTCH_NEED(cgroups_writable(), "HUTCH_REQUIRE_NAMESPACES", "a writable cgroup hierarchy (root) to pause");
  auto sandbox = backend_->create({});
  sandbox->pause();
  hutch::Fs& files = sandbox->fs();
  files.mkdir("/root/p", true);
  files.write("/root/p/f", "while paused");
  EXPECT_EQ(files.read("/root/p/f"), "while paused");
  EXPECT_EQ(files.list("/root/p").size(), 1u);
  sandbox->unpause();
  EXPECT_EQ(sh(*sandbox, "cat /root/p/f").stdout_data, "while paused");
}

}  // namespace
}  // namespace hutch::subcontainer::test
