// Host-side Fs of a sandbox tree (SandboxFs, its fs helper, RootTree): every Fs verb on a real
// directory tree, the escape attempts that must stay inside the root ("..", absolute symlinks,
// /proc magic links), and the kernel interface filesystems that are never opened. Here the
// helper serves a plain directory with this process's own user namespace, so it keeps the
// test's ids; test_fs_live.cpp and test_fs_confinement.cpp run it on real sandboxes.
#include "sandbox_fs/client.hpp"
#include "sandbox_fs/kernel_filesystems.hpp"
#include "sandbox_fs/root_tree.hpp"

#include "error_of.hpp"
#include "fs_helper_processes.hpp"
#include "host_files.hpp"
#include "require.hpp"
#include "temp_dir.hpp"

#include <hutch/error.hpp>

#include <gtest/gtest.h>

#include <fcntl.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <unistd.h>

#include <atomic>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <thread>
#include <vector>

namespace fs = std::filesystem;
using hutch::Errc;
using hutch::FileType;
using hutch::subcontainer::kernel_filesystem_of;
using hutch::subcontainer::LeaderFiles;
using hutch::subcontainer::RootTree;
using hutch::subcontainer::SandboxFs;
using hutch::subcontainer::TreeError;
using hutch::agent::UniqueFd;

namespace {

using hutch::test::code_of;
using hutch::test::message_of;
using hutch::test::read_file;

UniqueFd open_path(const fs::path& path, int flags = O_PATH | O_DIRECTORY) {
  UniqueFd fd(::open(path.c_str(), flags | O_CLOEXEC));
  EXPECT_TRUE(fd.valid()) << path << ": " << std::strerror(errno);
  return fd;
}

// Bind-mounts host /proc at `at` for as long as it lives (root only).
class ProcInside {
 public:
  explicit ProcInside(fs::path at) : at_(std::move(at)) {
    fs::create_directories(at_);
    mounted_ = ::mount("/proc", at_.c_str(), nullptr, MS_BIND | MS_REC, nullptr) == 0;
    EXPECT_TRUE(mounted_) << std::strerror(errno);
  }
  ~ProcInside() {
    if (mounted_) ::umount2(at_.c_str(), MNT_DETACH);
  }

 private:
  fs::path at_;
  bool mounted_ = false;
};

class SandboxFsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = dir_ / "root";
    fs::create_directories(root_ / "etc");
    std::ofstream(root_ / "etc" / "hostname") << "inside";
    std::ofstream(dir_ / "secret") << "host secret";
    fs_ = std::make_unique<SandboxFs>(HUTCH_SUBCONTAINER_HELPER, "test", [this] {
      return LeaderFiles{open_path("/proc/self/ns/user", O_RDONLY), open_path(root_)};
    });
  }

  const hutch::test::TempDir temp_{"hutch-rootfs-"};
  const fs::path& dir_ = temp_.path();
  fs::path root_;
  std::unique_ptr<SandboxFs> fs_;
};

TEST_F(SandboxFsTest, WriteReadStatListRemove) {
  fs_->write("/etc/motd", "hello", 0640);
  EXPECT_EQ(read_file(root_ / "etc" / "motd"), "hello");
  EXPECT_EQ(fs_->read("/etc/motd"), "hello");
  const auto st = fs_->stat("/etc/motd");
  EXPECT_EQ(st.type, FileType::regular);
  EXPECT_EQ(st.size, 5u);
  EXPECT_EQ(st.mode, 0640u);
  EXPECT_EQ(st.uid, ::geteuid());  // the helper kept this process's ids

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

TEST_F(SandboxFsTest, MkdirParentsRenameSymlink) {
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
  EXPECT_EQ(code_of([&] { fs_->symlink("", "/a/empty"); }), Errc::invalid_argument);

  EXPECT_EQ(code_of([&] { fs_->remove("/a"); }), Errc::already_exists);  // not empty
  fs_->remove("/a", true);
  EXPECT_FALSE(fs::exists(root_ / "a"));
  EXPECT_EQ(code_of([&] { fs_->remove("/", true); }), Errc::invalid_argument);
}

TEST_F(SandboxFsTest, RelativeAndNulPathsAreInvalid) {
  EXPECT_EQ(code_of([&] { fs_->read("etc/hostname"); }), Errc::invalid_argument);
  EXPECT_EQ(code_of([&] { fs_->write("relative", "x"); }), Errc::invalid_argument);
  EXPECT_EQ(code_of([&] { fs_->stat(std::string("/etc\0x", 6)); }), Errc::invalid_argument);
  EXPECT_EQ(code_of([&] { fs_->write("/etc/..", "x"); }), Errc::invalid_argument);
}

TEST_F(SandboxFsTest, DotDotStaysInside) {
  std::ofstream(root_ / "secret") << "inside secret";
  EXPECT_EQ(fs_->read("/../secret"), "inside secret");
  EXPECT_EQ(fs_->read("/etc/../../../secret"), "inside secret");
  fs_->write("/../../escaped", "x");
  EXPECT_FALSE(fs::exists(dir_ / "escaped"));
  EXPECT_TRUE(fs::exists(root_ / "escaped"));
  EXPECT_EQ(read_file(dir_ / "secret"), "host secret");
}

TEST_F(SandboxFsTest, AbsoluteAndRelativeSymlinksStayInside) {
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
  // A relative dangling link, through a chain of two, climbing out: created inside too.
  fs::create_symlink("../../../../made-by-link", root_ / "etc" / "second");
  fs::create_symlink("etc/second", root_ / "first");
  fs_->write("/first", "chained");
  EXPECT_EQ(read_file(root_ / "made-by-link"), "chained");
  EXPECT_FALSE(fs::exists(dir_.parent_path() / "made-by-link"));
  // A loop of links ends with an error, not a hang.
  fs::create_symlink("loop-b", root_ / "loop-a");
  fs::create_symlink("loop-a", root_ / "loop-b");
  EXPECT_EQ(code_of([&] { fs_->write("/loop-a", "x"); }), Errc::invalid_argument);

  // A directory symlink to the host root: mkdir -p and rm -r stay inside.
  fs_->mkdir("/hostroot/made/here", true);
  EXPECT_TRUE(fs::is_directory(root_ / "made" / "here"));
  fs::create_directory_symlink(dir_, root_ / "hostdir");
  fs_->remove("/hostdir", true);  // removes the link, not the host tree
  EXPECT_TRUE(fs::exists(dir_ / "secret"));
  EXPECT_FALSE(fs::exists(fs::symlink_status(root_ / "hostdir")));
}

// /proc magic links never resolve, and nothing on procfs is opened — not even the sandbox's
// own /proc/self/status, whose entries are the host kernel's.
TEST_F(SandboxFsTest, ProcMagicLinksAndProcFilesAreRefused) {
  HUTCH_NEED(::geteuid() == 0, "HUTCH_REQUIRE_NAMESPACES", "bind-mounting /proc into the test root needs root");
  const ProcInside proc(root_ / "proc");
  // A magic link fails with ELOOP (invalid_argument), or EACCES first where the kernel checks
  // access to the process before it sees that the link is magic.
  const auto refused = [&](const std::function<void()>& call) {
    const Errc code = code_of(call);
    EXPECT_TRUE(code == Errc::invalid_argument || code == Errc::permission_denied) << static_cast<int>(code);
  };
  refused([&] { fs_->read("/proc/self/root" + (dir_ / "secret").string()); });
  refused([&] { fs_->read("/proc/1/root/etc/hostname"); });
  fs::create_symlink("/proc/self/root", root_ / "via");
  refused([&] { fs_->read("/via" + (dir_ / "secret").string()); });
  refused([&] { fs_->write("/proc/self/cwd/x", "x"); });

  const std::string message = message_of(Errc::permission_denied, [&] { fs_->read("/proc/self/status"); });
  EXPECT_NE(message.find("'/proc/self/status'"), std::string::npos) << message;
  EXPECT_NE(message.find("on proc,"), std::string::npos) << message;
  fs::create_symlink("/proc/sys/kernel/hostname", root_ / "name");
  EXPECT_EQ(code_of([&] { fs_->read("/name"); }), Errc::permission_denied);
  EXPECT_EQ(code_of([&] { fs_->write("/name", "renamed"); }), Errc::permission_denied);
  EXPECT_EQ(code_of([&] { fs_->list("/proc"); }), Errc::permission_denied);
  EXPECT_EQ(code_of([&] { fs_->mkdir("/proc/x"); }), Errc::permission_denied);
  EXPECT_EQ(code_of([&] { fs_->remove("/proc/sys", true); }), Errc::permission_denied);
  EXPECT_EQ(code_of([&] { fs_->rename("/etc/hostname", "/proc/x"); }), Errc::permission_denied);
  EXPECT_EQ(code_of([&] { fs_->symlink("x", "/proc/x"); }), Errc::permission_denied);
  // rm -r of a tree with a kernel filesystem mounted in it stops there.
  const ProcInside deeper(root_ / "tree" / "proc");
  EXPECT_EQ(code_of([&] { fs_->remove("/tree", true); }), Errc::permission_denied);
  EXPECT_TRUE(fs::exists(root_ / "tree" / "proc" / "self"));
  // lstat opens nothing: answered.
  EXPECT_EQ(fs_->stat("/proc/self").type, FileType::symlink);
}

TEST_F(SandboxFsTest, LargeFilesStreamInBoundedChunks) {
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
  EXPECT_LE(largest, SandboxFs::kChunkSize);

  std::size_t seen = 0;
  fs_->read_stream("/big", [&](std::string_view chunk) {
    seen += chunk.size();
    return false;  // stop after the first chunk
  });
  EXPECT_LE(seen, SandboxFs::kChunkSize);
}

// The helper is started by the first call, restarted after it died, and gone with its Fs.
TEST_F(SandboxFsTest, TheHelperLivesAsLongAsItsFs) {
  const auto helpers = [] { return hutch::subcontainer::test::fs_helper_processes().size(); };
  EXPECT_EQ(helpers(), 0u);
  EXPECT_EQ(fs_->read("/etc/hostname"), "inside");
  EXPECT_EQ(helpers(), 1u);
  fs_.reset();
  EXPECT_EQ(helpers(), 0u) << "the helper outlived its Fs (or was not reaped)";
}

// A helper that died while idle (killed, out of memory) is replaced without the caller seeing it.
TEST_F(SandboxFsTest, AHelperThatDiedIsReplaced) {
  EXPECT_EQ(fs_->read("/etc/hostname"), "inside");
  const auto first = hutch::subcontainer::test::fs_helper_processes();
  ASSERT_EQ(first.size(), 1u);
  ASSERT_EQ(::kill(first[0], SIGKILL), 0);
  // Its socket closes when it is gone; wait for that (it stays a zombie until the Fs reaps it).
  for (int i = 0; i < 200 && hutch::subcontainer::test::read_proc_file("/proc/" + std::to_string(first[0]) + "/stat")
                                     .find(") Z ") == std::string::npos;
       ++i)
    ::usleep(5000);
  EXPECT_EQ(fs_->read("/etc/hostname"), "inside");
  const auto second = hutch::subcontainer::test::fs_helper_processes();
  ASSERT_EQ(second.size(), 1u) << "the dead helper was not reaped";
  EXPECT_NE(second[0], first[0]);
}

// Calls from several threads share one helper and each gets its own answer.
TEST_F(SandboxFsTest, ConcurrentCallsShareOneHelper) {
  constexpr int kThreads = 4;
  constexpr int kRounds = 50;
  std::vector<std::thread> threads;
  std::atomic<int> mismatches{0};
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int round = 0; round < kRounds; ++round) {
        const std::string path = "/etc/t" + std::to_string(t);
        const std::string content = std::to_string(t) + ":" + std::to_string(round);
        try {
          fs_->write(path, content);
          if (fs_->read(path) != content || fs_->stat(path).size != content.size()) ++mismatches;
        } catch (const hutch::Error&) {
          ++mismatches;
        }
      }
    });
  }
  for (auto& thread : threads) thread.join();
  EXPECT_EQ(mismatches.load(), 0);
  EXPECT_EQ(fs_->list("/etc").size(), 1u + kThreads);
  EXPECT_EQ(hutch::subcontainer::test::fs_helper_processes().size(), 1u);
}

TEST(KernelFilesystems, AreToldApartFromOrdinaryOnes) {
  const auto filesystem_of = [](const fs::path& path) -> std::string {
    const UniqueFd fd = open_path(path, O_PATH);
    int error = 0;
    const char* name = kernel_filesystem_of(fd.get(), error);
    EXPECT_EQ(error, 0) << path;
    return name != nullptr ? name : "ordinary";
  };
  EXPECT_EQ(filesystem_of("/proc"), "proc");
  EXPECT_EQ(filesystem_of("/proc/self/status"), "proc");
  EXPECT_EQ(filesystem_of("/proc/sys/kernel"), "proc");
  EXPECT_EQ(filesystem_of("/sys"), "sysfs");
  struct statfs cgroups {};
  ASSERT_EQ(::statfs("/sys/fs/cgroup", &cgroups), 0);
  EXPECT_EQ(filesystem_of("/sys/fs/cgroup"), cgroups.f_type == 0x63677270 ? "cgroup2" : "ordinary");
  if (fs::exists("/dev/pts/ptmx")) EXPECT_EQ(filesystem_of("/dev/pts"), "devpts");
  EXPECT_EQ(filesystem_of("/dev/shm"), "ordinary");  // tmpfs
  EXPECT_EQ(filesystem_of(fs::temp_directory_path()), "ordinary");
  EXPECT_EQ(filesystem_of(HUTCH_SUBCONTAINER_HELPER), "ordinary");
}

// The race of finding 5, made deterministic: a read is decided on the file reached with O_PATH,
// and what is opened is that very file. Swapping the path for a symlink into /proc between the
// check and the open changes nothing; on procfs the check refuses before anything is opened.
TEST(RootTreeInvariant, WhatIsOpenedIsWhatWasChecked) {
  HUTCH_NEED(::geteuid() == 0, "HUTCH_REQUIRE_NAMESPACES", "bind-mounting /proc into the test root needs root");
  const hutch::test::TempDir temp("hutch-rootfs-");
  const fs::path root = temp.path() / "root";
  fs::create_directories(root / "out");
  const ProcInside proc(root / "proc");
  std::ofstream(root / "out" / "x") << "checked";
  const RootTree tree(open_path(root));

  const UniqueFd checked = tree.resolve_file("/out/x", "read");
  fs::remove(root / "out" / "x");
  fs::create_symlink("/proc/self/status", root / "out" / "x");  // the sandbox's swap
  const UniqueFd opened = tree.reopen(checked, O_RDONLY, "/out/x");
  char buffer[64] = {};
  ASSERT_EQ(::read(opened.get(), buffer, sizeof buffer), 7);
  EXPECT_EQ(std::string(buffer), "checked");

  // With the swap done before, the check is made on the proc file and refuses it.
  try {
    tree.resolve_file("/out/x", "read");
    ADD_FAILURE() << "a file on procfs passed the check";
  } catch (const TreeError& e) {
    EXPECT_EQ(e.code(), Errc::permission_denied) << e.what();
  }
  fs::remove(root / "out" / "x");
  fs::create_directory_symlink("/proc", root / "out" / "x");
  try {
    tree.open_for_writing("/out/x/sys/kernel/hostname", 0644);
    ADD_FAILURE() << "a write into procfs was opened";
  } catch (const TreeError& e) {
    EXPECT_EQ(e.code(), Errc::permission_denied) << e.what();
  }
}

}  // namespace
