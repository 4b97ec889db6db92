// copy_tree and the generic fork factory (core/fork.cpp), on the fake backend.
#include "fake_backend.hpp"
#include "temp_dir.hpp"

#include <hutch/hutch.hpp>

#include <gtest/gtest.h>

namespace hutch {
namespace {

class ForkTest : public ::testing::Test {
 protected:
  ForkTest() : backend_(fake::make_fake_backend({.root = dir_.path() / "state"})) {}

  std::shared_ptr<Handle> create(Labels labels = {}) {
    SandboxSpec spec;
    spec.labels = std::move(labels);
    return backend_->create(spec);
  }

  test::TempDir dir_;
  std::shared_ptr<SandboxBackend> backend_;
};

std::string pattern(std::size_t size) {
  std::string out(size, '\0');
  for (std::size_t i = 0; i < size; ++i) out[i] = static_cast<char>((i * 31 + i / 4093) & 0xff);
  return out;
}

TEST_F(ForkTest, CopyTreeCopiesFilesDirectoriesSymlinksAndModes) {
  auto from = create();
  auto to = create();
  auto& src = from->fs();
  src.mkdir("/data/sub", true);
  src.mkdir("/data/private", false, 0700);
  src.write("/data/a.txt", "alpha", 0640);
  std::string big = pattern(3u << 20);
  src.write("/data/sub/big.bin", big, 0755);
  src.symlink("a.txt", "/data/link");

  copy_tree(src, "/data", to->fs(), "/copy/here");
  auto& dst = to->fs();
  EXPECT_EQ(dst.read("/copy/here/a.txt"), "alpha");
  EXPECT_EQ(dst.stat("/copy/here/a.txt").mode, 0640u);
  EXPECT_TRUE(dst.read("/copy/here/sub/big.bin") == big) << "the 3 MiB file differs";
  EXPECT_EQ(dst.stat("/copy/here/sub/big.bin").mode, 0755u);
  EXPECT_EQ(dst.stat("/copy/here/link").type, FileType::symlink);
  EXPECT_EQ(dst.stat("/copy/here/link").link_target, "a.txt");
  EXPECT_EQ(dst.stat("/copy/here/private").mode, 0700u);
}

TEST_F(ForkTest, CopyTreeOfOneFileCreatesItsParents) {
  auto from = create();
  auto to = create();
  from->fs().write("/file", "one");
  copy_tree(from->fs(), "/file", to->fs(), "/deep/er/copy");
  EXPECT_EQ(to->fs().read("/deep/er/copy"), "one");
}

TEST_F(ForkTest, CopyTreeReplacesEntriesOfAnotherKind) {
  auto from = create();
  auto to = create();
  from->fs().mkdir("/d");
  from->fs().symlink("target", "/d/entry");
  from->fs().write("/d/was-dir", "now a file");
  to->fs().mkdir("/d/was-dir/inner", true);
  to->fs().write("/d/entry", "a regular file in the way");

  copy_tree(from->fs(), "/d", to->fs(), "/d");
  EXPECT_EQ(to->fs().stat("/d/entry").type, FileType::symlink);
  EXPECT_EQ(to->fs().read("/d/was-dir"), "now a file");
}

TEST_F(ForkTest, CopyTreeIntoItselfIsRefused) {
  auto sandbox = create();
  sandbox->fs().mkdir("/a");
  try {
    copy_tree(sandbox->fs(), "/a", sandbox->fs(), "/a/b");
    ADD_FAILURE() << "copying a tree into itself was accepted";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), Errc::invalid_argument);
  }
}

TEST_F(ForkTest, CopyTreeOfAMissingSourceIsNotFound) {
  auto from = create();
  auto to = create();
  try {
    copy_tree(from->fs(), "/missing", to->fs(), "/x");
    ADD_FAILURE() << "no error for a missing source";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), Errc::not_found);
  }
}

TEST_F(ForkTest, FactoryCopiesTheRootsAndSkipsExcludedPaths) {
  auto source = create({{"team", "a"}});
  source->fs().mkdir("/keep/nested", true);
  source->fs().write("/keep/nested/f", "kept");
  source->fs().mkdir("/skip");
  source->fs().write("/skip/g", "skipped");
  source->fs().write("/skipped-not", "a sibling whose name only starts like it");

  auto factory = make_fs_copy_fork_factory(*backend_, FsForkOptions{{"/"}, {"/skip"}});
  auto copy = factory->fork(*source);
  EXPECT_NE(copy->id(), source->id());
  EXPECT_EQ(copy->fs().read("/keep/nested/f"), "kept");
  EXPECT_FALSE(copy->fs().exists("/skip"));
  EXPECT_EQ(copy->fs().read("/skipped-not"), "a sibling whose name only starts like it");

  SandboxInfo info = copy->info();
  EXPECT_EQ(info.labels["team"], "a") << "user labels are carried over";
  EXPECT_EQ(info.labels[kLabelId], copy->id()) << "hutch.* labels are the new sandbox's own";
}

TEST_F(ForkTest, FactoryRefusesRelativeRootsAndReportsMissingOnes) {
  EXPECT_THROW(make_fs_copy_fork_factory(*backend_, FsForkOptions{{"relative"}, {}}), Error);
  auto source = create();
  auto factory = make_fs_copy_fork_factory(*backend_, FsForkOptions{{"/not-there"}, {}});
  try {
    factory->fork(*source);
    ADD_FAILURE() << "a missing root was accepted";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), Errc::not_found);
  }
  EXPECT_EQ(backend_->list().size(), 1u) << "the half-made fork was not destroyed";
}

// --- a backend whose new sandboxes cannot take a file named "poison" ---------------------

class PoisonFs final : public Fs {
 public:
  explicit PoisonFs(Fs& inner) : inner_(inner) {}
  void read_stream(const std::string& p, const ChunkSink& sink) override { inner_.read_stream(p, sink); }
  void write_stream(const std::string& p, const ChunkSource& source, std::uint32_t mode) override {
    if (p.find("poison") != std::string::npos) throw Error(Errc::io, "disk full at " + p);
    inner_.write_stream(p, source, mode);
  }
  void mkdir(const std::string& p, bool parents, std::uint32_t mode) override { inner_.mkdir(p, parents, mode); }
  std::vector<DirEntry> list(const std::string& p) override { return inner_.list(p); }
  FileStat stat(const std::string& p) override { return inner_.stat(p); }
  void remove(const std::string& p, bool recursive) override { inner_.remove(p, recursive); }
  void rename(const std::string& a, const std::string& b) override { inner_.rename(a, b); }
  void symlink(const std::string& t, const std::string& p) override { inner_.symlink(t, p); }

 private:
  Fs& inner_;
};

class PoisonHandle final : public Handle {
 public:
  explicit PoisonHandle(std::shared_ptr<Handle> inner) : inner_(std::move(inner)), fs_(inner_->fs()) {}
  std::string id() const override { return inner_->id(); }
  SandboxSpec spec() const override { return inner_->spec(); }
  SandboxInfo info() override { return inner_->info(); }
  ExecResult exec(const ExecRequest& r) override { return inner_->exec(r); }
  std::unique_ptr<Process> spawn(const ExecRequest& r) override { return inner_->spawn(r); }
  Fs& fs() override { return fs_; }
  void destroy() override { inner_->destroy(); }

 protected:
  std::string backend_name() const override { return "poison"; }

 private:
  std::shared_ptr<Handle> inner_;
  PoisonFs fs_;
};

class PoisonBackend final : public SandboxBackend {
 public:
  explicit PoisonBackend(SandboxBackend& inner) : inner_(inner) {}
  std::string name() const override { return "poison"; }
  Capabilities capabilities() const override { return inner_.capabilities(); }
  std::shared_ptr<Handle> create(const SandboxSpec& spec) override {
    return std::make_shared<PoisonHandle>(inner_.create(spec));
  }
  std::shared_ptr<Handle> resume(const std::string& id) override { return inner_.resume(id); }
  std::vector<SandboxInfo> list(const Filter& f) override { return inner_.list(f); }
  void destroy(const std::string& id) override { inner_.destroy(id); }
  std::vector<std::string> prune(const Filter& f) override { return inner_.prune(f); }

 private:
  SandboxBackend& inner_;
};

TEST_F(ForkTest, AFailedCopyDestroysTheHalfMadeFork) {
  auto source = create();
  source->fs().write("/fine", "copied first");
  source->fs().write("/poison", "cannot be written");
  PoisonBackend poison(*backend_);
  auto factory = make_fs_copy_fork_factory(poison);
  try {
    factory->fork(*source);
    ADD_FAILURE() << "the copy error was swallowed";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), Errc::io);
    EXPECT_NE(std::string(e.what()).find("disk full at /poison"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find(source->id()), std::string::npos) << e.what();
  }
  auto left = backend_->list();
  ASSERT_EQ(left.size(), 1u) << "the half-made fork is still there";
  EXPECT_EQ(left[0].id, source->id());
}

TEST_F(ForkTest, HandleForkUsesTheFactoryAndCopiesAreIndependent) {
  auto source = create();
  source->fs().write("/state", "v1");
  auto copy = source->fork();
  copy->fs().write("/state", "v2");
  EXPECT_EQ(source->fs().read("/state"), "v1");
  EXPECT_EQ(copy->fs().read("/state"), "v2");
}

}  // namespace
}  // namespace hutch
