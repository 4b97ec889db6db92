// Host ids of sandboxes (issue 12, findings 4 and 6): each sandbox its own range of host ids,
// registered in /etc/subuid under "hutch"; sandbox, image and volume directories out of reach
// for other host users; each sandbox's user namespace owned by its own root id; image files
// with the right owners in every sandbox, through forks and snapshots.
//
// The integration tests here run the backend as production does: as root they register the
// block in the machine's real /etc/subuid and /etc/subgid (a "hutch:1000000000:..." line,
// idempotent) and take ranges from the real registry (/var/lib/hutch/id-ranges). The unit
// tests of the registration and the registry work on files of their own.
#include "as_nobody.hpp"
#include "error_of.hpp"
#include "runtime_fixture.hpp"

#include "handle.hpp"
#include "id_ranges.hpp"
#include "layer_copy.hpp"
#include "sandbox_record.hpp"
#include "subordinate_ids.hpp"

#include <hutch/archive.hpp>
#include <hutch/error.hpp>

#include <gmock/gmock.h>

#include <endian.h>
#include <fcntl.h>
#include <linux/capability.h>
#include <linux/nsfs.h>
#include <sys/inotify.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <cstring>
#include <fstream>
#include <functional>
#include <sstream>

using namespace hutch;
using namespace hutch::subcontainer;
using hutch::subcontainer::test::RuntimeTest;
using hutch::test::AsNobody;
using hutch::test::nobody_opens;
using hutch::test::nobody_runs;
using hutch::test::code_of;
using hutch::test::error_of;
using ::testing::HasSubstr;
namespace fs = std::filesystem;

namespace {

std::string read_text(const fs::path& file) {
  std::ifstream in(file);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

void write_text(const fs::path& file, const std::string& text) { std::ofstream(file) << text; }

struct StatResult {
  int error = 0;  // errno of the stat, 0 when it worked
  struct stat info {};
};

StatResult stat_of(const fs::path& path) {
  StatResult result;
  if (::lstat(path.c_str(), &result.info) != 0) result.error = errno;
  return result;
}

SandboxRecord record_of(Handle& sandbox) { return dynamic_cast<SubcontainerHandle&>(sandbox).record(); }
SandboxPaths paths_of(Handle& sandbox) { return dynamic_cast<SubcontainerHandle&>(sandbox).paths(); }

class IdRangeTest : public RuntimeTest {
 protected:
  void SetUp() override {
    RuntimeTest::SetUp();
    if (IsSkipped() || HasFatalFailure()) return;
    HUTCH_NEED(::geteuid() == 0, "HUTCH_REQUIRE_NAMESPACES", "id ranges are how hutch runs as root");
  }
};

}  // namespace

// --- the block and /etc/subuid --------------------------------------------------------------

TEST(SubordinateIds, TheDefaultBlockSitsAboveTheRangesUseraddHandsOut) {
  const BackendConfig config;
  // Debian's login.defs: SUB_UID_MIN 100000, SUB_UID_MAX 600100000 (the highest id useradd
  // gives a user's range). hutch's old default, 100000, was the first user's range.
  EXPECT_GE(config.uid_base, 600100000u + 65536u);
  const IdRangeRegistry registry("/nonexistent", config.uid_base, config.uid_count, config.uid_ranges);
  EXPECT_LE(config.uid_base + registry.block_size(), 0xFFFFFFFFull) << "the block must fit the 32-bit id space";
  EXPECT_GE(config.uid_ranges, 1024u) << "room for many sandboxes at once";
}

class SubordinateIdsFile : public ::testing::Test {
 protected:
  hutch::test::TempDir dir_{"hutch-subid-"};
  fs::path file_ = dir_ / "subuid";
};

TEST_F(SubordinateIdsFile, RegistersTheBlockOnceAndKeepsEveryOtherLine) {
  write_text(file_, "alice:100000:65536\n# a comment\nbob:165536:65536\n");
  ASSERT_EQ(::chmod(file_.c_str(), 0640), 0);
  register_subordinate_ids(file_, "hutch", 1000000000, 131072, "test");
  EXPECT_EQ(read_text(file_), "alice:100000:65536\n# a comment\nbob:165536:65536\nhutch:1000000000:131072\n");
  EXPECT_EQ(stat_of(file_).info.st_mode & 07777, 0640u) << "the file keeps its mode";
  const ino_t inode = stat_of(file_).info.st_ino;
  register_subordinate_ids(file_, "hutch", 1000000000, 131072, "test");
  EXPECT_EQ(read_text(file_), "alice:100000:65536\n# a comment\nbob:165536:65536\nhutch:1000000000:131072\n");
  EXPECT_EQ(stat_of(file_).info.st_ino, inode) << "an entry that is there already is not written again";
  EXPECT_EQ(stat_of(dir_ / "subuid.lock").error, ENOENT) << "the lock is gone again";
}

TEST_F(SubordinateIdsFile, AMissingFileIsCreatedWithTheEntry) {
  register_subordinate_ids(file_, "hutch", 1000000000, 65536, "test");
  EXPECT_EQ(read_text(file_), "hutch:1000000000:65536\n");
  EXPECT_EQ(stat_of(file_).info.st_mode & 07777, 0644u);
}

TEST_F(SubordinateIdsFile, ABlockOverlappingAnotherUsersEntryIsRefusedNamingFileLineAndEntry) {
  const std::string before = "alice:100000:65536\nbob:1000065536:65536\n";
  write_text(file_, before);
  const Error error = error_of([&] {
    register_subordinate_ids(file_, "hutch", 1000000000, 4097u * 65536u, "[backends.subcontainer] uid_base");
  });
  EXPECT_EQ(error.code(), Errc::config);
  EXPECT_THAT(error.what(), HasSubstr(file_.string() + " line 2 'bob:1000065536:65536'"));
  EXPECT_THAT(error.what(), HasSubstr("[backends.subcontainer] uid_base"));
  EXPECT_EQ(read_text(file_), before) << "nothing is written";
  // Ending right before an entry, or starting right after one, is no overlap.
  EXPECT_NO_THROW(register_subordinate_ids(file_, "hutch", 1000000000, 65536, "test"));
  EXPECT_NO_THROW(register_subordinate_ids(file_, "hutch", 1000131072, 65536, "test"));
}

TEST_F(SubordinateIdsFile, AStaleLockOfADeadProcessIsTakenOver) {
  // A pid that existed and is gone: a child that has been reaped.
  const pid_t dead = ::fork();
  if (dead == 0) ::_exit(0);
  ::waitpid(dead, nullptr, 0);
  write_text(dir_ / "subuid.lock", std::to_string(dead));
  register_subordinate_ids(file_, "hutch", 1000000000, 65536, "test");
  EXPECT_EQ(read_text(file_), "hutch:1000000000:65536\n");
}

TEST_F(IdRangeTest, TheBackendRefusesABlockThatOverlapsAnotherUsersSubuidEntry) {
  const fs::path subuid = state_dir_ / "subuid", subgid = state_dir_ / "subgid";
  write_text(subuid, "alice:1000000000:65536\n");
  BackendConfig config = runtime_->config;
  config.subuid_file = subuid;
  config.subgid_file = subgid;
  const Error error = error_of([&] { make_runtime(config, hutch::logger()); });
  EXPECT_EQ(error.code(), Errc::config);
  EXPECT_THAT(error.what(), HasSubstr(subuid.string() + " line 1 'alice:1000000000:65536'"));

  write_text(subuid, "alice:100000:65536\n");
  make_runtime(config, hutch::logger());
  const IdRangeRegistry block(config.id_ranges_dir, config.uid_base, config.uid_count, config.uid_ranges);
  const std::string entry = "hutch:" + std::to_string(config.uid_base) + ":" + std::to_string(block.block_size()) + "\n";
  EXPECT_EQ(read_text(subuid), "alice:100000:65536\n" + entry);
  EXPECT_EQ(read_text(subgid), entry);

  // A file that cannot be written (a read-only /etc) is no reason to refuse the backend.
  config.subuid_file = state_dir_ / "missing-dir" / "subuid";
  EXPECT_NO_THROW(make_runtime(config, hutch::logger()));
}

// --- the registry of ranges -----------------------------------------------------------------

class IdRangeRegistryTest : public ::testing::Test {
 protected:
  hutch::test::TempDir dir_{"hutch-ranges-"};
  fs::path owner(const std::string& name) {
    fs::create_directories(dir_ / "sandboxes" / name);
    return dir_ / "sandboxes" / name;
  }
};

TEST_F(IdRangeRegistryTest, EachSandboxGetsARangeOfItsOwnOutsideTheStoreRange) {
  IdRangeRegistry registry(dir_ / "registry", 1000000000, 65536, 8);
  const IdRange a = registry.allocate(owner("a")), b = registry.allocate(owner("b"));
  EXPECT_EQ(registry.store_range().first, 1000000000u);
  EXPECT_EQ(a.first, 1000065536u);
  EXPECT_EQ(b.first, 1000131072u);
  EXPECT_EQ(a.count, 65536u);
  // Released, a range goes to the next sandbox; a release by a sandbox not holding it does nothing.
  registry.release(a, owner("b"));
  EXPECT_EQ(registry.allocate(owner("c")).first, 1000196608u);
  registry.release(a, owner("a"));
  EXPECT_EQ(registry.allocate(owner("d")).first, a.first);
  registry.release_owner(owner("b"));
  EXPECT_EQ(registry.allocate(owner("e")).first, b.first);
}

TEST_F(IdRangeRegistryTest, WhenAllAreTakenCreateFailsClearlyAndRangesOfVanishedSandboxesComeBack) {
  IdRangeRegistry registry(dir_ / "registry", 1000000000, 65536, 2);
  registry.allocate(owner("a"));
  const IdRange b = registry.allocate(owner("b"));
  const Error full = error_of([&] { registry.allocate(owner("c")); });
  EXPECT_EQ(full.code(), Errc::state);
  EXPECT_THAT(full.what(), HasSubstr("uid_ranges"));
  // A sandbox directory removed without a release (a crash): allocate and prune reclaim it.
  fs::remove_all(dir_ / "sandboxes" / "b");
  EXPECT_EQ(registry.allocate(owner("c")).first, b.first);
  fs::remove_all(dir_ / "sandboxes" / "a");
  const auto freed = registry.reclaim_stale();
  ASSERT_EQ(freed.size(), 1u);
  EXPECT_EQ(freed[0].first, 1000065536u);
}

TEST_F(IdRangeRegistryTest, RangesTakenUnderAnotherBaseCountAsTaken) {
  // Two configurations whose blocks overlap share one registry: neither hands out an id the
  // other gave away.
  IdRangeRegistry one(dir_ / "registry", 1000000000, 65536, 8);
  IdRangeRegistry shifted(dir_ / "registry", 1000000000 + 32768, 65536, 8);
  const IdRange a = one.allocate(owner("a"));  // 1000065536..1000131071
  const IdRange b = shifted.allocate(owner("b"));
  EXPECT_GE(b.first, a.first + a.count) << "overlaps " << a.first;
}

// --- copies between ranges ------------------------------------------------------------------

TEST(LayerCopyShift, OwnersCapabilityRootIdsAndAclIdsMoveToTheNewRange) {
  HUTCH_NEED(::geteuid() == 0, "HUTCH_REQUIRE_NAMESPACES", "chown to other ids needs root");
  hutch::test::TempDir dir("hutch-shift-");
  const fs::path from = dir / "from";
  fs::create_directories(from / "d");
  write_text(from / "d" / "f", "x");
  ASSERT_EQ(::lchown((from / "d").c_str(), 1000, 1000), 0);
  ASSERT_EQ(::lchown((from / "d" / "f").c_str(), 1000 + 5, 1000 + 7), 0);
  ASSERT_EQ(::lchown((from / "d").c_str(), 1000, 1000), 0);
  ASSERT_EQ(::symlink("f", (from / "d" / "link").c_str()), 0);
  ASSERT_EQ(::lchown((from / "d" / "link").c_str(), 1000 + 1, 1000 + 1), 0);
  // A capability that counts in the user namespace whose root is host uid 1000.
  vfs_ns_cap_data cap{};
  cap.magic_etc = htole32(VFS_CAP_REVISION_3 | VFS_CAP_FLAGS_EFFECTIVE);
  cap.data[0].permitted = htole32(1u << CAP_NET_BIND_SERVICE);
  cap.rootid = htole32(1000);
  const bool caps = ::setxattr((from / "d" / "f").c_str(), "security.capability", &cap, sizeof cap, 0) == 0;
  // user 1000+9: rw, group 1000+3: r.
  const std::uint32_t acl[] = {htole32(2),
                               htole32(0x01 | (6u << 16)), 0,                 // USER_OBJ rw
                               htole32(0x02 | (6u << 16)), htole32(1000 + 9),  // USER
                               htole32(0x04 | (4u << 16)), 0,                 // GROUP_OBJ r
                               htole32(0x08 | (4u << 16)), htole32(1000 + 3),  // GROUP
                               htole32(0x10 | (6u << 16)), 0,                 // MASK
                               htole32(0x20 | (0u << 16)), 0};                // OTHER
  const bool acls = ::setxattr((from / "d" / "f").c_str(), "system.posix_acl_access", acl, sizeof acl, 0) == 0;

  copy_layer(from, dir / "to", IdShift{1000, 1000, 5000, 6000, 100});
  EXPECT_EQ(stat_of(dir / "to" / "d").info.st_uid, 5000u);
  EXPECT_EQ(stat_of(dir / "to" / "d").info.st_gid, 6000u);
  EXPECT_EQ(stat_of(dir / "to" / "d" / "f").info.st_uid, 5005u);
  EXPECT_EQ(stat_of(dir / "to" / "d" / "f").info.st_gid, 6007u);
  EXPECT_EQ(stat_of(dir / "to" / "d" / "link").info.st_uid, 5001u);
  EXPECT_EQ(stat_of(dir / "to").info.st_uid, 0u) << "an id outside the range stays";
  if (caps) {
    vfs_ns_cap_data copied{};
    ASSERT_EQ(::getxattr((dir / "to" / "d" / "f").c_str(), "security.capability", &copied, sizeof copied),
              static_cast<ssize_t>(sizeof copied));
    EXPECT_EQ(le32toh(copied.rootid), 5000u);
  } else {
    ADD_FAILURE() << "could not set a file capability on " << from << ": " << std::strerror(errno);
  }
  if (acls) {
    std::uint32_t copied[13] = {};
    ASSERT_EQ(::getxattr((dir / "to" / "d" / "f").c_str(), "system.posix_acl_access", copied, sizeof copied),
              static_cast<ssize_t>(sizeof copied));
    EXPECT_EQ(le32toh(copied[4]), 5009u);
    EXPECT_EQ(le32toh(copied[8]), 6003u);
  }
}

// --- sandboxes --------------------------------------------------------------------------------

// Finding 4: one host uid was root in every sandbox. Root of one sandbox must not be anyone in
// another: a 0600 file root made in one is unreadable for root in the other through a host
// directory both have bound.
TEST_F(IdRangeTest, TwoSandboxesHaveDisjointHostIdsAndRootInOneCannotReadTheOthersFiles) {
  const fs::path shared = state_dir_ / "shared";
  fs::create_directories(shared);
  ASSERT_EQ(::chmod(shared.c_str(), 0777), 0);
  runtime_->config.bind_allow = {state_dir_.string()};
  SandboxSpec spec;
  spec.mounts = {Mount{MountType::bind, shared.string(), "/shared"}};
  auto a = backend_->create(spec);
  auto b = backend_->create(spec);
  const SandboxRecord ra = record_of(*a), rb = record_of(*b);
  EXPECT_TRUE(ra.root_uid + ra.id_count <= rb.root_uid || rb.root_uid + rb.id_count <= ra.root_uid)
      << ra.root_uid << "+" << ra.id_count << " and " << rb.root_uid << "+" << rb.id_count;
  EXPECT_EQ(sh(*a, "cat /proc/self/uid_map | tr -s ' '").stdout_data, " 0 " + std::to_string(ra.root_uid) + " 65536\n");
  EXPECT_EQ(sh(*b, "cat /proc/self/uid_map | tr -s ' '").stdout_data, " 0 " + std::to_string(rb.root_uid) + " 65536\n");

  ASSERT_EQ(sh(*a, "echo secret > /shared/a && chmod 600 /shared/a && cat /shared/a").stdout_data, "secret\n");
  const auto read_by_b = sh(*b, "cat /shared/a 2>&1; echo rc=$?");
  EXPECT_THAT(read_by_b.stdout_data, HasSubstr("Permission denied")) << read_by_b.stdout_data;
  EXPECT_EQ(read_by_b.stdout_data.find("secret"), std::string::npos) << "root of one sandbox read the other's file";
  EXPECT_EQ(stat_of(shared / "a").info.st_uid, ra.root_uid);
}

// Finding 4: a setuid file made inside was runnable from the host and gave the sandbox's
// root uid to any local user. Its directory is closed to other host users now.
TEST_F(IdRangeTest, ASetuidFileMadeInsideIsOutOfReachForOtherHostUsers) {
  for (const bool ephemeral : {false, true}) {
    SCOPED_TRACE(ephemeral ? "ephemeral sandbox" : "sandbox in the state dir");
    SandboxSpec spec;
    spec.ephemeral = ephemeral;
    auto sandbox = backend_->create(spec);
    ASSERT_EQ(sh(*sandbox, "cp /bin/true /tmp/suid && chmod 6755 /tmp/suid && echo ok").stdout_data, "ok\n");
    const fs::path planted = paths_of(*sandbox).upper / "tmp" / "suid";
    ASSERT_EQ(stat_of(planted).info.st_mode & 07777, 06755u) << "the setuid file is on the host as made";
    const AsNobody run = nobody_runs(planted);
    EXPECT_EQ(run.error, EACCES) << "nobody ran the sandbox's setuid file (exit status " << run.exit_status << ")";
    // Through the real directory too, not only through the state dir's link to it.
    const fs::path real = fs::canonical(paths_of(*sandbox).dir) / "upper" / "tmp" / "suid";
    EXPECT_EQ(nobody_runs(real).error, EACCES) << real;
    sandbox->destroy();
  }
}

TEST_F(IdRangeTest, SandboxImageAndVolumeDirectoriesAreClosedToOtherHostUsers) {
  SandboxSpec spec;
  spec.mounts = {Mount{MountType::volume, "vol", "/vol"}};
  auto kept = backend_->create(spec);
  SandboxSpec ephemeral_spec;
  ephemeral_spec.ephemeral = true;
  auto ephemeral = backend_->create(ephemeral_spec);
  for (auto* sandbox : {kept.get(), ephemeral.get()}) {
    const fs::path dir = fs::canonical(paths_of(*sandbox).dir);
    SCOPED_TRACE(dir.string());
    const StatResult st = stat_of(dir);
    EXPECT_EQ(st.info.st_mode & 07777, 0700u);
    EXPECT_EQ(st.info.st_uid, record_of(*sandbox).root_uid) << "the sandbox's own root enters it, nobody else";
    EXPECT_EQ(nobody_opens(dir / "state.json").error, EACCES);
    // The directory holding the sandbox directories can be passed, not listed.
    EXPECT_EQ(stat_of(dir.parent_path()).info.st_mode & 0007, 01u);
    EXPECT_EQ(nobody_opens(dir.parent_path()).error, EACCES);
  }
  ASSERT_EQ(sh(*kept, "cp /bin/true /vol/suid && chmod 4755 /vol/suid && echo ok").stdout_data, "ok\n");
  const auto& config = runtime_->config;
  for (const fs::path& dir : {runtime_->images->root(), config.volumes_dir, config.backups_dir}) {
    EXPECT_EQ(stat_of(dir).info.st_mode & 07777, 0700u) << dir;
    EXPECT_EQ(stat_of(dir).info.st_uid, 0u) << dir;
  }
  EXPECT_EQ(nobody_runs(config.volumes_dir / "vol" / "suid").error, EACCES);
  EXPECT_EQ(nobody_opens(runtime_->images->root() / "host" / "rootfs" / "etc" / "passwd").error, EACCES);
}

// Finding 6: a user namespace is owned by the euid that created it, and the kernel charges
// inotify/fanotify (and other per-user) quotas of everything inside to that owner.
TEST_F(IdRangeTest, EachSandboxsUserNamespaceIsOwnedByTheFirstIdOfItsRange) {
  auto a = backend_->create({});
  auto b = backend_->create({});
  for (auto* sandbox : {a.get(), b.get()}) {
    const SandboxRecord record = record_of(*sandbox);
    const std::string ns = "/proc/" + std::to_string(record.leader_pid) + "/ns/user";
    const int fd = ::open(ns.c_str(), O_RDONLY | O_CLOEXEC);
    ASSERT_GE(fd, 0) << ns;
    uid_t owner = 0;
    const int rc = ::ioctl(fd, NS_GET_OWNER_UID, &owner);
    ::close(fd);
    ASSERT_EQ(rc, 0) << std::strerror(errno);
    EXPECT_EQ(owner, record.root_uid) << "the sandbox's quotas are charged to host uid " << owner;
    EXPECT_NE(owner, 0u);
  }
  EXPECT_NE(record_of(*a).root_uid, record_of(*b).root_uid);
}

// Finding 6, the attack itself: a sandbox holding every inotify instance its user may have
// left host root without any (EMFILE for every root program). Now it exhausts only its own.
TEST_F(IdRangeTest, ASandboxHoldingAllItsInotifyInstancesLeavesHostRootItsOwn) {
  HUTCH_NEED(fs::exists("/usr/bin/python3"), "HUTCH_REQUIRE_NAMESPACES", "python3 on the host (the host image runs it)");
  const int limit = std::stoi(read_text("/proc/sys/fs/inotify/max_user_instances"));
  auto sandbox = backend_->create({});
  ExecRequest request;
  request.argv = {"python3", "-c",
                  "import ctypes, sys, time\n"
                  "libc = ctypes.CDLL(None, use_errno=True)\n"
                  "fds = [libc.inotify_init() for _ in range(" + std::to_string(limit + 8) + ")]\n"
                  "print(sum(fd >= 0 for fd in fds), flush=True)\n"
                  "time.sleep(600)\n"};
  auto holder = sandbox->spawn(request);
  auto chunk = holder->read_output();
  ASSERT_TRUE(chunk);
  EXPECT_GT(std::stoi(chunk->data), 0) << "the sandbox made no inotify instance at all";
  // While the sandbox holds them, host root still gets one.
  const int fd = ::inotify_init1(IN_CLOEXEC);
  const int error = errno;
  EXPECT_GE(fd, 0) << "host root has no inotify instance left: " << std::strerror(error);
  if (fd >= 0) ::close(fd);
  holder->kill(9);
  holder->wait();
}

// Images are stored once, in the store range; every sandbox sees their owners as the image
// says, at the same time, through its own range. Forks and snapshots keep owners too.
TEST_F(IdRangeTest, ImageFilesHaveTheirOwnersInTwoSandboxesAtOnceAndForksAndSnapshotsKeepOwners) {
  std::string tar;
  {
    ArchiveWriter writer([&](std::string_view chunk) {
      tar.append(chunk);
      return true;
    });
    writer.add_directory("etc");
    writer.add_file("etc/passwd", "root:x:0:0::/:/bin/sh\n");
    writer.add_directory("home");
    writer.add_directory("home/app", {.mode = 0750, .uid = 1000, .gid = 1000});
    writer.add_file("home/app/data", "mine\n", {.mode = 0600, .uid = 1000, .gid = 1001});
    // The host's programs through a read-only /usr bind, found as on a merged-/usr host.
    for (const char* dir : {"bin", "lib", "lib64"}) writer.add_symlink(dir, std::string("usr/") + dir);
    writer.add_directory("tmp", {.mode = 01777});
    writer.finish();
  }
  const fs::path archive = state_dir_ / "owners.tar";
  write_text(archive, tar);
  SandboxSpec spec;
  spec.image = archive.string();
  // The image has no shell: the host's, read-only, as in the host image.
  spec.mounts = {Mount{MountType::bind, "/usr", "/usr", true}};
  runtime_->config.bind_allow = {"/usr", state_dir_.string()};
  std::vector<std::shared_ptr<Handle>> sandboxes = {backend_->create(spec), backend_->create(spec)};
  const std::string expected = "0:0 1000:1000 1000:1001\n";
  const std::string show = "/usr/bin/stat -c %u:%g /etc/passwd /home/app /home/app/data | /usr/bin/tr '\\n' ' ' | "
                           "/usr/bin/sed 's/ $/\\n/'";
  for (auto& sandbox : sandboxes) {
    const auto shown = run(*sandbox, {"/usr/bin/sh", "-c", show});
    EXPECT_EQ(shown.stdout_data, expected) << shown.stderr_data;
  }

  auto& source = *sandboxes[0];
  ASSERT_EQ(run(source, {"/usr/bin/sh", "-c",
                         "/usr/bin/touch /home/app/made && /usr/bin/chown 1234:5678 /home/app/made && echo ok"})
                .stdout_data,
            "ok\n");
  const std::string show_made = "/usr/bin/stat -c %u:%g /home/app/made /home/app/data";
  auto fork = source.fork();
  EXPECT_EQ(run(*fork, {"/usr/bin/sh", "-c", show_made}).stdout_data, "1234:5678\n1000:1001\n");
  const SandboxRecord forked = record_of(*fork);
  EXPECT_NE(forked.root_uid, record_of(source).root_uid);
  EXPECT_EQ(stat_of(paths_of(*fork).upper / "home" / "app" / "made").info.st_uid, forked.root_uid + 1234)
      << "the fork's copy belongs to the fork's range";

  const auto snapshot = source.snapshot("owners");
  const fs::path stored = runtime_->images->root() / snapshot.id / "rootfs" / "home" / "app" / "made";
  EXPECT_EQ(stat_of(stored).info.st_uid, runtime_->config.uid_base + 1234) << "stored in the store range";
  auto restored = backend_->restore(snapshot.id, spec);  // the same /usr bind
  EXPECT_EQ(run(*restored, {"/usr/bin/sh", "-c", show_made}).stdout_data, "1234:5678\n1000:1001\n");
  EXPECT_EQ(run(*restored, {"/usr/bin/sh", "-c", "echo more >> /home/app/made && echo ok"}).stdout_data, "ok\n")
      << "root of the restored sandbox may write the file";
}

TEST_F(IdRangeTest, DestroyAndPruneGiveTheRangeBack) {
  auto sandbox = backend_->create({});
  const SandboxRecord record = record_of(*sandbox);
  const fs::path& registry = runtime_->config.id_ranges_dir;
  const fs::path entry = registry / (std::to_string(record.root_uid) + "-" + std::to_string(record.id_count));
  EXPECT_EQ(read_text(entry), paths_of(*sandbox).dir.string() + "\n");
  sandbox->destroy();
  EXPECT_EQ(stat_of(entry).error, ENOENT) << "destroy kept the range taken";

  // A hutch that died between removing a sandbox's directory and releasing its range: the
  // last range of the block, taken by a directory that is gone. prune frees it.
  const auto& config = runtime_->config;
  const std::uint64_t last = config.uid_base + std::uint64_t(config.uid_ranges) * config.uid_count;
  const fs::path leaked = registry / (std::to_string(last) + "-" + std::to_string(config.uid_count));
  write_text(leaked, (state_dir_ / "subcontainer" / "sandboxes" / "0123456789ab").string() + "\n");
  backend_->prune({});
  EXPECT_EQ(stat_of(leaked).error, ENOENT) << "prune left the range of a vanished sandbox taken";
}
