// `hutch cp ID:/path DEST` never plants a link on the host that leads out of the copied tree: a
// link to /etc/shadow or one climbing out with ".." arrives as what it points to inside the
// sandbox, an in-tree relative link stays a link, a dangling one is skipped with a warning, and
// -L copies every link as its target. On the fake backend, subcontainer and docker, each step a
// hutch process of its own.
#include "real_backends.hpp"

#include <sys/stat.h>

namespace hutch::test {
namespace {

namespace fs = std::filesystem;

class CpLinksTest : public EachBackendCliTest {
 protected:
  void SetUp() override {
    EachBackendCliTest::SetUp();
    if (IsSkipped() || HasFatalFailure()) return;
    if (GetParam() == "subcontainer") {
      // An image whose /etc the sandbox's root owns, so the test can put its own shadow there.
      const char* data = std::getenv("HUTCH_TEST_DATA");
      const fs::path rootfs = fs::path(data != nullptr ? data : "/tmp/hutch-test-data") / "busybox-rootfs.tar";
      HUTCH_NEED(fs::exists(rootfs), "HUTCH_REQUIRE_NAMESPACES", rootfs.string() + " (.ci/build-test-images.sh)");
      image_ = rootfs.string();
    } else if (GetParam() == "docker") {
      image_ = docker_test_image();
    }
  }

  void TearDown() override {
    if (!id_.empty()) on_backend({"rm", "-f", id_});
    EachBackendCliTest::TearDown();
  }

  // A sandbox with /etc/shadow of its own and /payload holding every kind of link, made by
  // copying host trees in (links are copied into a sandbox as links).
  void make_sandbox() {
    std::vector<std::string> create{"create"};
    if (!image_.empty()) create.insert(create.end(), {"--image", image_});
    const HutchResult created = on_backend(create);
    ASSERT_EQ(created.exit_code, 0) << created.err;
    id_ = created.out.substr(0, created.out.size() - 1);

    const fs::path etc = dir() / "in" / "etc";
    fs::create_directories(etc);
    write_file(etc / "shadow", "the sandbox's shadow\n");
    const fs::path payload = dir() / "in" / "payload";
    fs::create_directories(payload / "sub");
    write_file(payload / "file.txt", "in the tree\n");
    fs::create_symlink("../file.txt", payload / "sub" / "up");             // stays inside
    fs::create_symlink("/etc/shadow", payload / "shadow");                 // absolute
    fs::create_symlink("../../../etc/shadow", payload / "sub" / "climb");  // climbs out
    fs::create_symlink("/no/such/file", payload / "dangling");
    fs::create_symlink("sub/../../etc", payload / "sneaky");               // ".." after a name
    for (const char* tree : {"etc", "payload"}) {
      const HutchResult in = on_backend({"cp", (dir() / "in" / tree).string(), id_ + ":/"});
      ASSERT_EQ(in.exit_code, 0) << tree << ": " << in.err;
    }
  }

  std::string image_;
  std::string id_;
};

TEST_P(CpLinksTest, OnlyLinksThatStayInTheTreeArriveAsLinks) {
  ASSERT_NO_FATAL_FAILURE(make_sandbox());
  const fs::path out = dir() / "out";
  const HutchResult copied = on_backend({"cp", id_ + ":/payload", out.string()});
  ASSERT_EQ(copied.exit_code, 0) << copied.err;

  ASSERT_TRUE(fs::is_symlink(out / "sub" / "up"));
  EXPECT_EQ(fs::read_symlink(out / "sub" / "up"), "../file.txt");
  EXPECT_EQ(read_file(out / "sub" / "up"), "in the tree\n");
  for (const fs::path& replaced : {out / "shadow", out / "sub" / "climb"}) {
    EXPECT_FALSE(fs::is_symlink(replaced)) << replaced << " would lead to the host's file";
    EXPECT_EQ(read_file(replaced), "the sandbox's shadow\n") << replaced;
  }
  EXPECT_FALSE(fs::is_symlink(out / "sneaky"));
  EXPECT_TRUE(fs::is_regular_file(out / "sneaky" / "shadow")) << "the sandbox's /etc, copied";
  EXPECT_FALSE(fs::exists(fs::symlink_status(out / "dangling")));
  EXPECT_NE(copied.err.find("'/payload/dangling'"), std::string::npos) << copied.err;
  EXPECT_NE(copied.err.find("warning"), std::string::npos) << copied.err;
}

TEST_P(CpLinksTest, FollowLinksCopiesEveryLinkAsItsTarget) {
  ASSERT_NO_FATAL_FAILURE(make_sandbox());
  const fs::path out = dir() / "out";
  const HutchResult copied = on_backend({"cp", "-L", id_ + ":/payload", out.string()});
  ASSERT_EQ(copied.exit_code, 0) << copied.err;
  EXPECT_FALSE(fs::is_symlink(out / "sub" / "up"));
  EXPECT_EQ(read_file(out / "sub" / "up"), "in the tree\n");
  EXPECT_EQ(read_file(out / "shadow"), "the sandbox's shadow\n");

  // A link given as the source is copied as its target, with or without -L.
  const HutchResult single = on_backend({"cp", id_ + ":/payload/shadow", (dir() / "single").string()});
  ASSERT_EQ(single.exit_code, 0) << single.err;
  EXPECT_FALSE(fs::is_symlink(dir() / "single"));
  EXPECT_EQ(read_file(dir() / "single"), "the sandbox's shadow\n");
}

INSTANTIATE_TEST_SUITE_P(Backends, CpLinksTest, kEachBackend, backend_test_name);

using CpRefusedTest = HutchCliTest;

TEST_F(CpRefusedTest, ASourceTheSandboxRefusesLeavesNothingOnTheHost) {
  HUTCH_NEED(subcontainer_usable(), "HUTCH_REQUIRE_NAMESPACES", "user+mount namespaces and the subcontainer plugin");
  let_sandbox_roots_in(dir());
  const HutchResult created = hutch_on(kSubcontainerPluginFile, {"create"});
  ASSERT_EQ(created.exit_code, 0) << created.err;
  const std::string id = created.out.substr(0, created.out.size() - 1);
  // Host-side file operations never open files on proc.
  const HutchResult refused = hutch_on(kSubcontainerPluginFile, {"cp", id + ":/proc/1/mem", (dir() / "mem").string()});
  EXPECT_EQ(refused.exit_code, 125) << refused.err;
  EXPECT_FALSE(fs::exists(fs::symlink_status(dir() / "mem")));
  EXPECT_EQ(hutch_on(kSubcontainerPluginFile, {"rm", id}).exit_code, 0);
}

}  // namespace
}  // namespace hutch::test
