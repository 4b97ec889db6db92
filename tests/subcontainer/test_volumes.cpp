// Mount policy of the subcontainer backend: volume names, pointer lookup, bind prefixes
// (component-wise; the matching itself is tests/unit/test_path_policy.cpp), subpath
// confinement, file/dir kinds. Real directories in a temp dir.
#include "volumes.hpp"

#include <hutch/error.hpp>

#include "require.hpp"
#include "temp_dir.hpp"

#include <gtest/gtest.h>

#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <vector>

namespace fs = std::filesystem;
using hutch::Errc;
using hutch::Mount;
using hutch::MountType;
using hutch::subcontainer::MountPolicy;
using hutch::subcontainer::resolve_mount;

namespace {

class VolumesTest : public ::testing::Test {
 protected:
  void SetUp() override {
    fs::create_directories(dir_ / "data" / "sub");
    fs::create_directories(dir_ / "database");
    fs::create_directories(dir_ / "secret");
    std::ofstream(dir_ / "data" / "file.txt") << "x";
    policy_.bind_allow = {(dir_ / "data").string()};
    policy_.volumes_dir = dir_ / "volumes";
    policy_.backups_dir = dir_ / "backups";
  }

  static Mount make(MountType type, std::string source, std::string target = "/mnt") {
    Mount mount;
    mount.type = type;
    mount.source = std::move(source);
    mount.target = std::move(target);
    return mount;
  }

  static Errc code_of(const Mount& mount, const MountPolicy& policy) {
    try {
      resolve_mount(mount, policy);
    } catch (const hutch::Error& e) {
      return e.code();
    }
    ADD_FAILURE() << "resolve_mount accepted " << mount.source;
    return Errc::io;
  }

  const hutch::test::TempDir temp_{"hutch-volumes-"};
  const fs::path& dir_ = temp_.path();
  MountPolicy policy_;
};

TEST_F(VolumesTest, VolumeIsCreatedOnFirstUseAndPersists) {
  const auto first = resolve_mount(make(MountType::volume, "cache"), policy_);
  EXPECT_EQ(first.host_source, policy_.volumes_dir / "cache");
  EXPECT_TRUE(fs::is_directory(first.host_source));
  EXPECT_FALSE(first.is_file);
  EXPECT_FALSE(first.read_only);
  std::ofstream(first.host_source / "kept") << "1";
  const auto second = resolve_mount(make(MountType::volume, "cache"), policy_);
  EXPECT_EQ(second.host_source, first.host_source);
  EXPECT_TRUE(fs::exists(second.host_source / "kept"));
}

TEST_F(VolumesTest, VolumeNamesAreValidated) {
  for (const std::string& bad : std::vector<std::string>{"", "..", ".", "../x", "a/b", "a..b", "sp ace", std::string(129, 'a')})
    EXPECT_EQ(code_of(make(MountType::volume, bad), policy_), Errc::invalid_argument) << "name '" << bad << "'";
  EXPECT_NO_THROW(resolve_mount(make(MountType::volume, std::string(128, 'a')), policy_));
  EXPECT_NO_THROW(resolve_mount(make(MountType::volume, "A-z_0.9"), policy_));
  EXPECT_FALSE(fs::exists(dir_ / "x"));
}

TEST_F(VolumesTest, NewVolumesBelongToRootInside) {
  HUTCH_NEED(::geteuid() == 0, "HUTCH_REQUIRE_NAMESPACES", "chown to the sandbox's host uid needs root");
  MountPolicy owned = policy_;
  owned.owner_uid = 100000;
  owned.owner_gid = 100001;
  const auto volume = resolve_mount(make(MountType::volume, "owned"), owned);
  struct stat st {};
  ASSERT_EQ(::stat(volume.host_source.c_str(), &st), 0);
  EXPECT_EQ(st.st_uid, 100000u);
  EXPECT_EQ(st.st_gid, 100001u);
  const auto backup = resolve_mount(make(MountType::backup, "owned"), owned);
  ASSERT_EQ(::stat(backup.host_source.c_str(), &st), 0);
  EXPECT_EQ(st.st_uid, 100000u);
  // No temporary directories are left next to the volumes.
  for (const auto& entry : fs::directory_iterator(policy_.volumes_dir))
    EXPECT_EQ(entry.path().filename(), "owned");
}

TEST_F(VolumesTest, PointerNeedsAnExistingVolume) {
  EXPECT_EQ(code_of(make(MountType::pointer, "shared"), policy_), Errc::not_found);
  EXPECT_FALSE(fs::exists(policy_.volumes_dir / "shared"));
  resolve_mount(make(MountType::volume, "shared"), policy_);
  const auto pointer = resolve_mount(make(MountType::pointer, "shared"), policy_);
  EXPECT_EQ(pointer.host_source, policy_.volumes_dir / "shared");
}

TEST_F(VolumesTest, BackupLivesInTheBackupsDir) {
  const auto backup = resolve_mount(make(MountType::backup, "nightly"), policy_);
  EXPECT_EQ(backup.host_source, policy_.backups_dir / "nightly");
  EXPECT_TRUE(fs::is_directory(backup.host_source));
}

TEST_F(VolumesTest, BindPrefixIsComponentWise) {
  const auto allowed = resolve_mount(make(MountType::bind, (dir_ / "data" / "sub").string()), policy_);
  EXPECT_EQ(allowed.host_source, dir_ / "data" / "sub");
  EXPECT_EQ(code_of(make(MountType::bind, (dir_ / "database").string()), policy_), Errc::permission_denied);
  EXPECT_EQ(code_of(make(MountType::bind, (dir_ / "secret").string()), policy_), Errc::permission_denied);
  // ".." in the source is resolved before the prefix check.
  EXPECT_EQ(code_of(make(MountType::bind, (dir_ / "data" / ".." / "secret").string()), policy_),
            Errc::permission_denied);
}

TEST_F(VolumesTest, BindThroughSymlinkIsCheckedAtItsTarget) {
  fs::create_directory_symlink(dir_ / "secret", dir_ / "data" / "escape");
  EXPECT_EQ(code_of(make(MountType::bind, (dir_ / "data" / "escape").string()), policy_), Errc::permission_denied);
  // An allowed prefix that is itself a symlink allows its target.
  fs::create_directory_symlink(dir_ / "data", dir_ / "data-link");
  MountPolicy via_link = policy_;
  via_link.bind_allow = {(dir_ / "data-link").string()};
  EXPECT_EQ(resolve_mount(make(MountType::bind, (dir_ / "data" / "sub").string()), via_link).host_source,
            dir_ / "data" / "sub");
}

TEST_F(VolumesTest, BindRefusedWithoutAllowList) {
  MountPolicy closed = policy_;
  closed.bind_allow.clear();
  EXPECT_EQ(code_of(make(MountType::bind, (dir_ / "data").string()), closed), Errc::permission_denied);
  EXPECT_EQ(code_of(make(MountType::bind, "relative/path"), policy_), Errc::invalid_argument);
  EXPECT_EQ(code_of(make(MountType::bind, (dir_ / "data" / "missing").string()), policy_), Errc::not_found);
}

TEST_F(VolumesTest, AssetsAreAlwaysReadOnly) {
  Mount assets = make(MountType::assets, (dir_ / "data").string());
  assets.read_only = false;
  const auto resolved = resolve_mount(assets, policy_);
  EXPECT_TRUE(resolved.read_only);
  Mount bind = make(MountType::bind, (dir_ / "data").string());
  EXPECT_FALSE(resolve_mount(bind, policy_).read_only);
  bind.read_only = true;
  EXPECT_TRUE(resolve_mount(bind, policy_).read_only);
}

TEST_F(VolumesTest, SubpathIsConfined) {
  Mount mount = make(MountType::bind, (dir_ / "data").string());
  mount.subpath = "sub";
  EXPECT_EQ(resolve_mount(mount, policy_).host_source, dir_ / "data" / "sub");
  mount.subpath = "../secret";
  EXPECT_EQ(code_of(mount, policy_), Errc::invalid_argument);
  mount.subpath = "/etc";
  EXPECT_EQ(code_of(mount, policy_), Errc::invalid_argument);
  mount.subpath = "missing";
  EXPECT_EQ(code_of(mount, policy_), Errc::not_found);
  fs::create_directory_symlink(dir_ / "secret", dir_ / "data" / "out");
  mount.subpath = "out";
  EXPECT_EQ(code_of(mount, policy_), Errc::permission_denied);

  Mount volume = make(MountType::volume, "withsub");
  const auto created = resolve_mount(volume, policy_);
  fs::create_directory(created.host_source / "inner");
  volume.subpath = "inner";
  EXPECT_EQ(resolve_mount(volume, policy_).host_source, created.host_source / "inner");
}

TEST_F(VolumesTest, KindDecidesFileOrDirectory) {
  Mount file = make(MountType::bind, (dir_ / "data" / "file.txt").string(), "/etc/app.conf");
  EXPECT_TRUE(resolve_mount(file, policy_).is_file);
  file.kind = hutch::MountKind::directory;
  EXPECT_EQ(code_of(file, policy_), Errc::invalid_argument);
  Mount dir = make(MountType::bind, (dir_ / "data").string());
  EXPECT_FALSE(resolve_mount(dir, policy_).is_file);
  dir.kind = hutch::MountKind::file;
  EXPECT_EQ(code_of(dir, policy_), Errc::invalid_argument);
}

TEST_F(VolumesTest, TmpfsAndIdmapPassThrough) {
  Mount tmpfs = make(MountType::tmpfs, "", "/scratch");
  tmpfs.tmpfs_size_bytes = 64u << 20;
  const auto resolved = resolve_mount(tmpfs, policy_);
  EXPECT_TRUE(resolved.tmpfs);
  EXPECT_EQ(resolved.tmpfs_size, 64u << 20);
  EXPECT_TRUE(resolved.host_source.empty());

  Mount volume = make(MountType::volume, "mapped");
  volume.idmap = hutch::IdMap{0, 1000, 1};
  const auto mapped = resolve_mount(volume, policy_);
  ASSERT_TRUE(mapped.idmap.has_value());
  EXPECT_EQ(mapped.idmap->to, 1000u);
  EXPECT_EQ(code_of(make(MountType::volume, "v", "relative"), policy_), Errc::invalid_argument);
}

}  // namespace
