// The fake backend itself: persistence across processes (here: across backend objects on
// one state directory), its built-in commands, path confinement, prune rules, config.
#include "fake_backend.hpp"
#include "temp_dir.hpp"
#include "tree_fs.hpp"

#include <hutch/hutch.hpp>

#include <gtest/gtest.h>

#include <csignal>

#include <chrono>
#include <fstream>
#include <thread>

namespace hutch::fake {
namespace {

using namespace std::chrono_literals;

ExecRequest command(std::vector<std::string> argv) {
  ExecRequest request;
  request.argv = std::move(argv);
  request.timeout = 30s;
  return request;
}

Errc code_of(const std::function<void()>& fn) {
  try {
    fn();
  } catch (const Error& e) {
    return e.code();
  }
  ADD_FAILURE() << "no hutch::Error was thrown";
  return Errc::backend;
}

class FakeBackendTest : public ::testing::Test {
 protected:
  std::shared_ptr<SandboxBackend> make(std::string owner = {}) {
    return make_fake_backend(FakeOptions{dir_.path() / "state", "fake", std::move(owner)});
  }
  test::TempDir dir_;
};

TEST_F(FakeBackendTest, StateIsSharedByBackendsOnTheSameDirectory) {
  auto first = make();
  auto second = make();
  auto sandbox = first->create(SandboxSpec{});
  sandbox->fs().write("/tmp/note", "from the first");

  auto resumed = second->resume(sandbox->id());
  EXPECT_EQ(resumed->fs().read("/tmp/note"), "from the first");
  ASSERT_EQ(second->list().size(), 1u);
  EXPECT_EQ(second->list()[0].id, sandbox->id());
  EXPECT_EQ(second->list()[0].image, "fake") << "the default image is filled in";

  second->destroy(sandbox->id());
  EXPECT_EQ(code_of([&] { sandbox->exec(command({"echo", "x"})); }), Errc::state);
  EXPECT_TRUE(first->list().empty());
}

TEST_F(FakeBackendTest, BuiltinCommands) {
  auto backend = make();
  SandboxSpec spec;
  spec.env = {{"GREETING", "hi"}};
  spec.workdir = "/work";
  auto sandbox = backend->create(spec);
  sandbox->fs().write("/work/file.txt", "file content");

  auto run = [&](std::vector<std::string> argv) { return sandbox->exec(command(std::move(argv))); };
  EXPECT_EQ(run({"echo", "a", "b"}).stdout_data, "a b\n");
  EXPECT_EQ(run({"printenv", "GREETING"}).stdout_data, "hi\n");
  EXPECT_EQ(run({"printenv", "UNSET"}).exit_code, 1);
  EXPECT_EQ(run({"pwd"}).stdout_data, "/work\n") << "the spec's workdir is the default cwd";
  EXPECT_EQ(run({"stderr", "oops"}).stderr_data, "oops\n");
  EXPECT_EQ(run({"exit", "7"}).exit_code, 7);
  EXPECT_EQ(run({"kill-self", "15"}).shell_status(), 143);
  EXPECT_EQ(run({"cat", "file.txt"}).stdout_data, "file content") << "relative to the cwd";
  EXPECT_EQ(run({"yes-flood", "5"}).stdout_data, "y\ny\ny");

  ExecResult missing_file = run({"cat", "/nope"});
  EXPECT_EQ(missing_file.exit_code, 1);
  EXPECT_NE(missing_file.stderr_data.find("cat: /nope"), std::string::npos);

  ExecResult unknown = run({"ls", "-l"});
  EXPECT_EQ(unknown.exit_code, 127);
  EXPECT_EQ(unknown.stderr_data, "fake: command not found: ls\n");

  ExecResult bad_exit = run({"exit", "many"});
  EXPECT_EQ(bad_exit.exit_code, 2);
  EXPECT_FALSE(bad_exit.stderr_data.empty());
}

TEST_F(FakeBackendTest, MissingWorkingDirectoryIsNotFound) {
  auto sandbox = make()->create(SandboxSpec{});
  ExecRequest request = command({"pwd"});
  request.cwd = "/does/not/exist";
  EXPECT_EQ(code_of([&] { sandbox->exec(request); }), Errc::not_found);
}

TEST_F(FakeBackendTest, PathsCannotLeaveTheTree) {
  auto backend = make();
  auto sandbox = backend->create(SandboxSpec{});
  auto& fs = sandbox->fs();
  EXPECT_EQ(code_of([&] { fs.write("/../outside", "x"); }), Errc::permission_denied);
  EXPECT_EQ(code_of([&] { fs.read("/tmp/../../etc/passwd"); }), Errc::permission_denied);

  fs.symlink("../../../..", "/up");
  EXPECT_EQ(code_of([&] { fs.write("/up/outside", "x"); }), Errc::permission_denied);
  EXPECT_FALSE(std::filesystem::exists(dir_.path() / "outside"));

  // An absolute target starts at the sandbox's root, as in a chroot.
  fs.mkdir("/etc");
  fs.symlink("/etc", "/tmp/etc-link");
  fs.write("/tmp/etc-link/conf", "inside");
  EXPECT_EQ(fs.read("/etc/conf"), "inside");

  fs.symlink("/loop-b", "/loop-a");
  fs.symlink("/loop-a", "/loop-b");
  EXPECT_EQ(code_of([&] { fs.read("/loop-a"); }), Errc::invalid_argument);
  EXPECT_EQ(code_of([&] { fs.remove("/", true); }), Errc::permission_denied);
}

TEST_F(FakeBackendTest, TreeFsResolvesInsideItsRoot) {
  std::filesystem::create_directories(dir_.path() / "root" / "a");
  TreeFs fs(dir_.path() / "root", "test");
  EXPECT_EQ(fs.resolve("/a/./b/../c", true), dir_.path() / "root" / "a" / "c");
  std::filesystem::create_directory_symlink("/a", dir_.path() / "root" / "link");
  EXPECT_EQ(fs.resolve("/link/x", true), dir_.path() / "root" / "a" / "x");
  EXPECT_EQ(fs.resolve("/link", false), dir_.path() / "root" / "link");
}

TEST_F(FakeBackendTest, PruneRemovesOrphansAndExpiredButKeepsLiveOnes) {
  auto dead_owner = make("no-such-boot:1:1");
  auto live_owner = make();
  auto orphan = dead_owner->create(SandboxSpec{});
  auto live = live_owner->create(SandboxSpec{});
  SandboxSpec short_lived;
  short_lived.ttl = 1ms;
  auto expired = live_owner->create(short_lived);
  std::this_thread::sleep_for(20ms);

  auto removed = live_owner->prune();
  std::sort(removed.begin(), removed.end());
  std::vector<std::string> expected{orphan->id(), expired->id()};
  std::sort(expected.begin(), expected.end());
  EXPECT_EQ(removed, expected);
  ASSERT_EQ(live_owner->list().size(), 1u);
  EXPECT_EQ(live_owner->list()[0].id, live->id());

  EXPECT_EQ(live_owner->prune(Filter{{}, true}), std::vector<std::string>{live->id()});
  EXPECT_TRUE(live_owner->list().empty());
}

TEST_F(FakeBackendTest, DetachedSandboxesHaveNoOwnerAndOutliveItsDeath) {
  auto backend = make();
  SandboxSpec detached;
  detached.detached = true;
  auto sandbox = backend->create(detached);
  EXPECT_EQ(sandbox->info().labels[kLabelOwner], kDetachedOwner);
  EXPECT_TRUE(backend->prune().empty());
  EXPECT_EQ(backend->prune(Filter{{}, true}), std::vector<std::string>{sandbox->id()});
}

TEST_F(FakeBackendTest, PausedSandboxRefusesCommands) {
  auto sandbox = make()->create(SandboxSpec{});
  sandbox->pause();
  EXPECT_EQ(sandbox->info().state, SandboxState::paused);
  EXPECT_EQ(code_of([&] { sandbox->exec(command({"echo"})); }), Errc::state);
  EXPECT_EQ(code_of([&] { sandbox->pause(); }), Errc::state);
  sandbox->unpause();
  EXPECT_EQ(sandbox->exec(command({"echo", "back"})).stdout_data, "back\n");
}

TEST_F(FakeBackendTest, DestroyEndsRunningCommands) {
  auto backend = make();
  auto sandbox = backend->create(SandboxSpec{});
  auto process = sandbox->spawn(command({"sleep", "60"}));
  auto started = std::chrono::steady_clock::now();
  sandbox->destroy();
  ExecResult result = process->wait();
  EXPECT_LT(std::chrono::steady_clock::now() - started, 5s);
  // Destroy stops gracefully: `sleep` ends on the SIGTERM, well within the stop grace.
  EXPECT_EQ(result.signal, SIGTERM);
}

TEST_F(FakeBackendTest, UnreadOutputBlocksTheCommandNotMemory) {
  auto sandbox = make()->create(SandboxSpec{});
  ExecRequest request = command({"yes-flood", std::to_string(64u << 20)});
  request.output_limit = 128u << 20;
  auto process = sandbox->spawn(request);
  std::uint64_t total = 0;
  while (auto chunk = process->read_output()) total += chunk->data.size();
  EXPECT_EQ(total, 64u << 20);
  EXPECT_EQ(process->wait().exit_code, 0);
}

TEST_F(FakeBackendTest, RefusesWhatItCannotDo) {
  auto backend = make();
  SandboxSpec with_mount;
  with_mount.mounts.push_back(Mount{.type = MountType::tmpfs, .target = "/scratch"});
  EXPECT_EQ(code_of([&] { backend->create(with_mount); }), Errc::unsupported);
  SandboxSpec with_network;
  with_network.network = NetworkMode::bridge;
  EXPECT_EQ(code_of([&] { backend->create(with_network); }), Errc::unsupported);
  auto sandbox = backend->create(SandboxSpec{});
  ExecRequest tty = command({"echo"});
  tty.tty = true;
  EXPECT_EQ(code_of([&] { sandbox->exec(tty); }), Errc::unsupported);
  EXPECT_EQ(code_of([&] { backend->resume("../../etc"); }), Errc::not_found);
  EXPECT_EQ(code_of([&] { backend->delete_snapshot("fake-snap-000000000000"); }), Errc::not_found);
}

TEST_F(FakeBackendTest, PluginFactoryReadsAndChecksItsTable) {
  auto fake_table = [](const std::string& body) {
    auto root = ConfigTable::parse("[backends.fake]\n" + body, "test.toml");
    return *root.get_table("backends")->get_table("fake");
  };
  PluginContext context;
  context.name = "fake";
  context.logger = logger();
  context.state_dir = (dir_.path() / "state-dir").string();

  context.config = fake_table("root = \"" + (dir_.path() / "custom").string() + "\"\n");
  auto backend = make_fake_backend_from_context(context);
  backend->create(SandboxSpec{});
  EXPECT_TRUE(std::filesystem::is_directory(dir_.path() / "custom" / "sandboxes"));

  context.config = ConfigTable();
  make_fake_backend_from_context(context)->create(SandboxSpec{});
  EXPECT_TRUE(std::filesystem::is_directory(dir_.path() / "state-dir" / "fake" / "sandboxes"));

  context.config = fake_table("root = \"/x\"\nbogus = 1\n");
  try {
    make_fake_backend_from_context(context);
    ADD_FAILURE() << "an unknown key was accepted";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), Errc::config);
    EXPECT_NE(std::string(e.what()).find("bogus"), std::string::npos) << e.what();
  }
  context.config = fake_table("root = \"relative\"\n");
  EXPECT_EQ(code_of([&] { make_fake_backend_from_context(context); }), Errc::config);
}

}  // namespace
}  // namespace hutch::fake
