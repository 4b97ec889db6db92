// RootFs: every Fs verb on a real directory tree, and the escape attempts that must stay
// inside the root ("..", absolute symlinks, /proc magic links).
#include "root_fs.hpp"
#include "scoped_fs_ids.hpp"

#include "error_of.hpp"
#include "host_files.hpp"
#include "require.hpp"
#include "temp_dir.hpp"

#include <hutch/error.hpp>

#include <gtest/gtest.h>

#include <fcntl.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <future>
#include <sstream>
#include <thread>

namespace fs = std::filesystem;
using hutch::Errc;
using hutch::FileType;
using hutch::subcontainer::RootFs;
using hutch::subcontainer::ScopedFsIds;
using hutch::subcontainer::UniqueFd;

namespace {

using hutch::test::code_of;
using hutch::test::read_file;

// A field of /proc/<status>, e.g. "Uid:" -> "0\t0\t0\t100000" (real, effective, saved, fs).
std::string status_field(const fs::path& status_file, const std::string& key) {
  std::ifstream in(status_file);
  for (std::string line; std::getline(in, line);)
    if (line.rfind(key, 0) == 0) return line.substr(line.find_first_not_of(" \t", key.size()));
  return "<no " + key + " in " + status_file.string() + ">";
}

fs::path thread_status(pid_t tid) { return fs::path("/proc/self/task") / std::to_string(tid) / "status"; }
fs::path own_thread_status() { return thread_status(static_cast<pid_t>(::syscall(SYS_gettid))); }

class RootFsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = dir_ / "root";
    fs::create_directories(root_ / "etc");
    std::ofstream(root_ / "etc" / "hostname") << "inside";
    std::ofstream(dir_ / "secret") << "host secret";
    fs_ = make_fs(::geteuid(), ::getegid(), 65536);
  }
  void TearDown() override {
    fs_.reset();
  }

  std::unique_ptr<RootFs> make_fs(uid_t uid, gid_t gid, std::uint32_t count) const {
    UniqueFd fd(::open(root_.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
    EXPECT_TRUE(fd.valid());
    return std::make_unique<RootFs>(std::move(fd), uid, gid, count);
  }

  const hutch::test::TempDir temp_{"hutch-rootfs-"};
  const fs::path& dir_ = temp_.path();
  fs::path root_;
  std::unique_ptr<RootFs> fs_;
};

TEST_F(RootFsTest, WriteReadStatListRemove) {
  fs_->write("/etc/motd", "hello", 0640);
  EXPECT_EQ(read_file(root_ / "etc" / "motd"), "hello");
  EXPECT_EQ(fs_->read("/etc/motd"), "hello");
  const auto st = fs_->stat("/etc/motd");
  EXPECT_EQ(st.type, FileType::regular);
  EXPECT_EQ(st.size, 5u);
  EXPECT_EQ(st.mode, 0640u);
  EXPECT_EQ(st.uid, 0u);  // the owner uid is root inside

  fs_->write("/etc/motd", "x", 0600);  // truncates, sets the new mode
  EXPECT_EQ(fs_->read("/etc/motd"), "x");
  EXPECT_EQ(fs_->stat("/etc/motd").mode, 0600u);

  const auto entries = fs_->list("/etc");
  ASSERT_EQ(entries.size(), 2u);
  EXPECT_EQ(entries[0].name, "hostname");
  EXPECT_EQ(entries[1].name, "motd");
  EXPECT_EQ(entries[1].stat.size, 1u);

  EXPECT_TRUE(fs_->exists("/etc/motd"));
  fs_->remove("/etc/motd");
  EXPECT_FALSE(fs_->exists("/etc/motd"));
  EXPECT_FALSE(fs::exists(root_ / "etc" / "motd"));
  EXPECT_EQ(code_of([&] { fs_->remove("/etc/motd"); }), Errc::not_found);
  EXPECT_EQ(code_of([&] { fs_->read("/nope"); }), Errc::not_found);
  EXPECT_EQ(code_of([&] { fs_->write("/nodir/file", "x"); }), Errc::not_found);
  EXPECT_EQ(fs_->stat("/").type, FileType::directory);
}

TEST_F(RootFsTest, MkdirParentsRenameSymlink) {
  fs_->mkdir("/a/b/c", true, 0750);
  EXPECT_TRUE(fs::is_directory(root_ / "a" / "b" / "c"));
  EXPECT_EQ(fs_->stat("/a/b/c").mode, 0750u);
  fs_->mkdir("/a/b/c", true);  // mkdir -p of an existing dir is fine
  EXPECT_EQ(code_of([&] { fs_->mkdir("/a/b/c"); }), Errc::already_exists);
  EXPECT_EQ(code_of([&] { fs_->mkdir("/x/y"); }), Errc::not_found);

  fs_->write("/a/f", "1");
  fs_->write("/a/g", "2");
  fs_->rename("/a/f", "/a/g");  // replaces
  EXPECT_EQ(fs_->read("/a/g"), "1");
  EXPECT_FALSE(fs_->exists("/a/f"));
  fs_->rename("/a/g", "/a/b/c/moved");
  EXPECT_EQ(fs_->read("/a/b/c/moved"), "1");

  fs_->symlink("b/c/moved", "/a/link");
  const auto st = fs_->stat("/a/link");
  EXPECT_EQ(st.type, FileType::symlink);
  EXPECT_EQ(st.link_target, "b/c/moved");
  EXPECT_EQ(fs_->read("/a/link"), "1");
  EXPECT_EQ(code_of([&] { fs_->symlink("x", "/a/link"); }), Errc::already_exists);

  EXPECT_EQ(code_of([&] { fs_->remove("/a"); }), Errc::already_exists);  // not empty
  fs_->remove("/a", true);
  EXPECT_FALSE(fs::exists(root_ / "a"));
  EXPECT_EQ(code_of([&] { fs_->remove("/", true); }), Errc::invalid_argument);
}

TEST_F(RootFsTest, RelativeAndNulPathsAreInvalid) {
  EXPECT_EQ(code_of([&] { fs_->read("etc/hostname"); }), Errc::invalid_argument);
  EXPECT_EQ(code_of([&] { fs_->write("relative", "x"); }), Errc::invalid_argument);
  EXPECT_EQ(code_of([&] { fs_->stat(std::string("/etc\0x", 6)); }), Errc::invalid_argument);
  EXPECT_EQ(code_of([&] { fs_->write("/etc/..", "x"); }), Errc::invalid_argument);
}

TEST_F(RootFsTest, DotDotStaysInside) {
  std::ofstream(root_ / "secret") << "inside secret";
  EXPECT_EQ(fs_->read("/../secret"), "inside secret");
  EXPECT_EQ(fs_->read("/etc/../../../secret"), "inside secret");
  fs_->write("/../../escaped", "x");
  EXPECT_FALSE(fs::exists(dir_ / "escaped"));
  EXPECT_TRUE(fs::exists(root_ / "escaped"));
  EXPECT_EQ(read_file(dir_ / "secret"), "host secret");
}

TEST_F(RootFsTest, AbsoluteAndRelativeSymlinksStayInside) {
  // What a malicious sandbox would plant: links that point at host paths.
  fs::create_symlink(dir_ / "secret", root_ / "abs");           // host-absolute path
  fs::create_symlink("../../../../../../secret", root_ / "rel");  // climbs out
  fs::create_symlink("/", root_ / "hostroot");
  EXPECT_EQ(code_of([&] { fs_->read("/abs"); }), Errc::not_found);
  EXPECT_EQ(code_of([&] { fs_->read("/rel"); }), Errc::not_found);
  EXPECT_EQ(fs_->read("/hostroot/etc/hostname"), "inside");
  std::ofstream(root_ / "secret") << "inside secret";
  EXPECT_EQ(fs_->read("/rel"), "inside secret");

  // Writing through the link creates the file inside, never on the host.
  fs::create_symlink(dir_ / "planted", root_ / "plant");
  EXPECT_EQ(code_of([&] { fs_->write("/plant", "x"); }), Errc::not_found);
  fs::create_directories(root_ / dir_.relative_path());
  fs_->write("/plant", "x");
  EXPECT_FALSE(fs::exists(dir_ / "planted"));
  EXPECT_TRUE(fs::exists(root_ / dir_.relative_path() / "planted"));

  // A directory symlink to the host root: mkdir -p and rm -r stay inside.
  fs_->mkdir("/hostroot/made/here", true);
  EXPECT_TRUE(fs::is_directory(root_ / "made" / "here"));
  fs::create_directory_symlink(dir_, root_ / "hostdir");
  fs_->remove("/hostdir", true);  // removes the link, not the host tree
  EXPECT_TRUE(fs::exists(dir_ / "secret"));
  EXPECT_FALSE(fs::exists(fs::symlink_status(root_ / "hostdir")));
}

TEST_F(RootFsTest, ProcMagicLinksAreRefused) {
  HUTCH_NEED(::geteuid() == 0, "HUTCH_REQUIRE_NAMESPACES", "bind-mounting /proc into the test root needs root");
  fs::create_directory(root_ / "proc");
  ASSERT_EQ(::mount("/proc", (root_ / "proc").c_str(), nullptr, MS_BIND | MS_REC, nullptr), 0)
      << std::strerror(errno);
  struct Unmount {
    fs::path path;
    ~Unmount() { ::umount2(path.c_str(), MNT_DETACH); }
  } unmount{root_ / "proc"};
  EXPECT_NE(code_of([&] { fs_->read("/proc/self/root" + (dir_ / "secret").string()); }), Errc::io);
  EXPECT_THROW(fs_->read("/proc/self/root" + (dir_ / "secret").string()), hutch::Error);
  EXPECT_THROW(fs_->read("/proc/1/root/etc/hostname"), hutch::Error);
  fs::create_symlink("/proc/self/root", root_ / "via");
  EXPECT_THROW(fs_->read("/via" + (dir_ / "secret").string()), hutch::Error);
  EXPECT_THROW(fs_->write("/proc/self/cwd/x", "x"), hutch::Error);
  // Ordinary /proc files (no magic link on the way) still resolve.
  EXPECT_FALSE(fs_->read("/proc/self/status").empty());
}

TEST_F(RootFsTest, LargeFilesStreamInBoundedChunks) {
  constexpr std::size_t kTotal = 24u << 20;
  constexpr std::size_t kPiece = 1u << 20;
  std::string piece(kPiece, '\0');
  for (std::size_t i = 0; i < kPiece; ++i) piece[i] = static_cast<char>('a' + i % 26);
  std::size_t produced = 0;
  fs_->write_stream("/big", [&]() -> std::string_view {
    if (produced == kTotal) return {};
    produced += kPiece;
    return piece;
  });
  EXPECT_EQ(fs::file_size(root_ / "big"), kTotal);

  std::size_t received = 0;
  std::size_t largest = 0;
  bool matches = true;
  fs_->read_stream("/big", [&](std::string_view chunk) {
    largest = std::max(largest, chunk.size());
    for (std::size_t i = 0; i < chunk.size(); i += 4099)
      matches = matches && chunk[i] == static_cast<char>('a' + ((received + i) % kPiece) % 26);
    received += chunk.size();
    return true;
  });
  EXPECT_EQ(received, kTotal);
  EXPECT_TRUE(matches);
  EXPECT_LE(largest, RootFs::kChunkSize);

  std::size_t seen = 0;
  fs_->read_stream("/big", [&](std::string_view chunk) {
    seen += chunk.size();
    return false;  // stop after the first chunk
  });
  EXPECT_LE(seen, RootFs::kChunkSize);
}

TEST_F(RootFsTest, NewFilesBelongToRootInside) {
  HUTCH_NEED(::geteuid() == 0, "HUTCH_REQUIRE_NAMESPACES", "chown to the sandbox's host uid range needs root");
  const auto mapped = make_fs(100000, 100000, 65536);
  mapped->write("/owned", "x");
  mapped->mkdir("/owned-dir");
  mapped->symlink("owned", "/owned-link");
  struct stat st {};
  ASSERT_EQ(::lstat((root_ / "owned").c_str(), &st), 0);
  EXPECT_EQ(st.st_uid, 100000u);
  EXPECT_EQ(st.st_gid, 100000u);
  ASSERT_EQ(::lstat((root_ / "owned-dir").c_str(), &st), 0);
  EXPECT_EQ(st.st_uid, 100000u);
  ASSERT_EQ(::lstat((root_ / "owned-link").c_str(), &st), 0);
  EXPECT_EQ(st.st_uid, 100000u);
  EXPECT_EQ(mapped->stat("/owned").uid, 0u);
  ASSERT_EQ(::chown((root_ / "owned").c_str(), 101000, 101000), 0);
  EXPECT_EQ(mapped->stat("/owned").uid, 1000u);
  // Ids outside the sandbox's range show as the overflow id.
  EXPECT_EQ(mapped->stat("/etc/hostname").uid, 65534u);
}

// While a mutating call runs, only its own thread acts as the sandbox's root; the call
// blocks in open() on a FIFO so the other threads can be looked at in that moment.
// RootFs makes each change as the sandbox's root through ScopedFsIds: held in one thread, it
// switches that thread only (the others keep their ids), and gives the holder back the
// filesystem capabilities the kernel drops on the switch.
TEST_F(RootFsTest, OnlyTheCallingThreadSwitchesIds) {
  HUTCH_NEED(::geteuid() == 0, "HUTCH_REQUIRE_NAMESPACES", "switching to the sandbox's host uid range needs root");
  const std::string main_uids = status_field(own_thread_status(), "Uid:");
  const std::string main_gids = status_field(own_thread_status(), "Gid:");
  const std::string main_caps = status_field(own_thread_status(), "CapEff:");
  ASSERT_EQ(main_uids, "0\t0\t0\t0");

  std::atomic<pid_t> holder_tid{0};
  std::promise<void> switched, released;
  std::string holder_error;
  std::thread holder([&] {
    holder_tid = static_cast<pid_t>(::syscall(SYS_gettid));
    try {
      const ScopedFsIds as_sandbox_root(100000, 100000, "/a/file");
      switched.set_value();
      released.get_future().wait();
    } catch (const hutch::Error& e) {
      holder_error = e.what();
      switched.set_value();
    }
  });
  switched.get_future().wait();
  const fs::path holder_status = thread_status(holder_tid);
  const std::string holder_uids = status_field(holder_status, "Uid:");
  const std::string holder_gids = status_field(holder_status, "Gid:");
  const std::string holder_caps = status_field(holder_status, "CapEff:");
  const std::string uids_meanwhile = status_field(own_thread_status(), "Uid:");
  const std::string gids_meanwhile = status_field(own_thread_status(), "Gid:");
  released.set_value();
  holder.join();

  EXPECT_EQ(holder_error, "");
  EXPECT_EQ(holder_uids, "0\t0\t0\t100000");
  EXPECT_EQ(holder_gids, "0\t0\t0\t100000");
  // The fs capabilities the kernel dropped on the switch are back for that thread.
  EXPECT_EQ(holder_caps, main_caps);
  // This thread never changed.
  EXPECT_EQ(uids_meanwhile, main_uids);
  EXPECT_EQ(gids_meanwhile, main_gids);
  EXPECT_EQ(status_field(own_thread_status(), "CapEff:"), main_caps);
}

TEST_F(RootFsTest, IdsAndCapabilitiesComeBackAfterEveryCall) {
  HUTCH_NEED(::geteuid() == 0, "HUTCH_REQUIRE_NAMESPACES", "switching to the sandbox's host uid range needs root");
  const auto mapped = make_fs(100000, 100000, 65536);
  const std::string uids = status_field(own_thread_status(), "Uid:");
  const std::string gids = status_field(own_thread_status(), "Gid:");
  const std::string caps = status_field(own_thread_status(), "CapEff:");
  auto unchanged = [&](const char* after) {
    EXPECT_EQ(status_field(own_thread_status(), "Uid:"), uids) << "after " << after;
    EXPECT_EQ(status_field(own_thread_status(), "Gid:"), gids) << "after " << after;
    EXPECT_EQ(status_field(own_thread_status(), "CapEff:"), caps) << "after " << after;
  };
  mapped->mkdir("/d/e", true);
  unchanged("mkdir -p");
  mapped->write("/d/e/f", "x");
  unchanged("write");
  mapped->symlink("f", "/d/e/l");
  unchanged("symlink");
  mapped->rename("/d/e/f", "/d/g");
  unchanged("rename");
  EXPECT_EQ(code_of([&] { mapped->mkdir("/d"); }), Errc::already_exists);
  unchanged("a failed mkdir");
  EXPECT_EQ(code_of([&] { mapped->write("/nodir/f", "x"); }), Errc::not_found);
  unchanged("a failed write");
  EXPECT_EQ(code_of([&] { mapped->rename("/nope", "/d/h"); }), Errc::not_found);
  unchanged("a failed rename");
  mapped->remove("/d", true);
  unchanged("remove -r");
  EXPECT_FALSE(fs::exists(root_ / "d"));
}

// Root inside may change files of every sandbox user; so may the host acting as that root.
TEST_F(RootFsTest, FilesOfOtherSandboxUsersStayWritable) {
  HUTCH_NEED(::geteuid() == 0, "HUTCH_REQUIRE_NAMESPACES", "chown to the sandbox's host uid range needs root");
  const auto mapped = make_fs(100000, 100000, 65536);
  fs::create_directory(root_ / "home");
  ASSERT_EQ(::chown((root_ / "home").c_str(), 101000, 101000), 0);
  ASSERT_EQ(::chmod((root_ / "home").c_str(), 0700), 0);
  std::ofstream(root_ / "home" / "private") << "mine";
  ASSERT_EQ(::chown((root_ / "home" / "private").c_str(), 101000, 101000), 0);
  ASSERT_EQ(::chmod((root_ / "home" / "private").c_str(), 0600), 0);

  EXPECT_EQ(mapped->read("/home/private"), "mine");
  mapped->write("/home/private", "changed", 0640);
  EXPECT_EQ(read_file(root_ / "home" / "private"), "changed");
  EXPECT_EQ(mapped->stat("/home/private").uid, 1000u);  // an existing file keeps its owner
  EXPECT_EQ(mapped->stat("/home/private").mode, 0640u);
  mapped->write("/home/new", "n");
  EXPECT_EQ(mapped->stat("/home/new").uid, 0u);
  mapped->rename("/home/new", "/home/renamed");
  mapped->remove("/home/private");
  EXPECT_FALSE(fs::exists(root_ / "home" / "private"));
  EXPECT_TRUE(fs::exists(root_ / "home" / "renamed"));
}

}  // namespace
