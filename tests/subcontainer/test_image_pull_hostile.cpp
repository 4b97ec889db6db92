// Hostile layers through a pull (issue 18, the security issue): a registry on 127.0.0.1
// (fake_registry.hpp) serves layers the test crafts with libarchive, under their correct
// digests, so only extraction stands between them and the host: entries with ".." or absolute
// paths, symlinks that climb out and writes through them, hard links to outside paths, device
// nodes, security.* xattrs, setuid files, layers that end inside an entry; and blobs that never
// end, whose manifest lies about their size, or that do not match their digest. Every refused
// pull names the blob, writes nothing outside the layer directory, leaves nothing half-made in
// the content store, and a later good pull works.
#include "as_nobody.hpp"
#include "error_of.hpp"
#include "image_pull_fixture.hpp"
#include "test_tars.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <cerrno>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>
#include <string>

namespace fs = std::filesystem;
using hutch::Errc;
using hutch::test::FakeRegistry;
using hutch::test::ImagePullTest;
using hutch::test::make_raw_tar;
using hutch::test::RawEntry;
using ::testing::HasSubstr;

namespace {

bool present(const fs::path& path) { return fs::exists(fs::symlink_status(path)); }

// Peak and current resident memory of this process (/proc/self/status), in KiB.
std::uint64_t status_kib(const std::string& field) {
  std::ifstream in("/proc/self/status");
  std::string line;
  while (std::getline(in, line))
    if (line.starts_with(field + ":")) return std::stoull(line.substr(field.size() + 1));
  return 0;
}

// Resets VmHWM to the current resident size (proc(5), clear_refs "5").
void reset_peak_memory() { std::ofstream("/proc/self/clear_refs") << "5"; }

class HostilePullTest : public ImagePullTest {
 protected:
  void SetUp() override {
    ImagePullTest::SetUp();
    if (HasFatalFailure() || IsSkipped()) return;
    fs::create_directory(outside_);
    std::ofstream(outside_ / "secret") << "untouched";
  }

  // The layer directory of a pull is <images>/.tmp-<id>-<random>/rootfs, later
  // <images>/<id>/rootfs: this climbs from there to the state dir, then into outside_.
  static std::string climb_out(const std::string& name) { return "../../../../outside/" + name; }

  // Serves `tars` (plain tar layers) as <repository>:1 and pulls it, which must fail: returns
  // the error after checking that nothing was written outside the layer directory and nothing
  // half-made stayed in the store.
  hutch::Error refused_pull(FakeRegistry& registry, const std::string& repository, const std::vector<std::string>& tars) {
    std::vector<Layer> layers;
    for (const std::string& tar : tars) layers.push_back({tar});
    return refused_pull_of(serve_layers(registry, repository, layers));
  }

  hutch::Error refused_pull_of(const std::string& image) {
    const std::set<std::string> images_before = stored_images();
    const hutch::Error error = hutch::test::error_of([&] { backend().pull_image(image, {}); });
    expect_nothing_escaped(image);
    expect_nothing_half_made(image, images_before);
    return error;
  }

  // No file the hostile layers name exists outside the layer directory (they all start with
  // "hutch-escaped"; the refused pull left no layer directory), and the outside directory's
  // file is as the test wrote it.
  void expect_nothing_escaped(const std::string& image) {
    for (const auto& entry : fs::directory_iterator(fs::temp_directory_path()))
      EXPECT_FALSE(entry.path().filename().string().starts_with("hutch-escaped")) << image << ": " << entry.path();
    std::error_code ec;
    for (fs::recursive_directory_iterator it(state_dir_.path(), fs::directory_options::skip_permission_denied, ec), end;
         !ec && it != end; it.increment(ec))
      EXPECT_FALSE(it->path().filename().string().starts_with("hutch-escaped")) << image << ": " << it->path();
    for (const auto& entry : fs::recursive_directory_iterator(outside_))
      EXPECT_EQ(entry.path().filename(), "secret") << image << " wrote " << entry.path();
    EXPECT_EQ(hutch::test::read_whole(outside_ / "secret"), "untouched") << image;
    struct stat st {};
    ASSERT_EQ(::lstat((outside_ / "secret").c_str(), &st), 0);
    EXPECT_EQ(st.st_nlink, 1u) << image << ": the outside file got a hard link";
  }

  // No staging directory, no new image, no name for it, no blob download in progress.
  void expect_nothing_half_made(const std::string& image, const std::set<std::string>& images_before) {
    for (const auto& entry : fs::directory_iterator(image_root()))
      EXPECT_FALSE(entry.path().filename().string().starts_with(".tmp-")) << image << ": " << entry.path();
    EXPECT_EQ(stored_images(), images_before) << image;
    EXPECT_THAT(hutch::test::read_whole(image_root() / "names.json"), ::testing::Not(HasSubstr(image))) << image;
    if (fs::exists(image_root() / "blobs" / "sha256"))
      for (const auto& entry : fs::directory_iterator(image_root() / "blobs" / "sha256"))
        EXPECT_EQ(entry.path().filename().string().find(".tmp-"), std::string::npos) << image << ": " << entry.path();
  }

  std::set<std::string> stored_images() const {
    std::set<std::string> ids;
    std::error_code ec;
    for (const auto& entry : fs::directory_iterator(image_root(), ec))
      if (entry.path().filename().string().size() == 64) ids.insert(entry.path().filename().string());
    return ids;
  }

  // The store still works: a good image pulls and runs.
  void expect_a_good_pull_works(FakeRegistry& registry) {
    EXPECT_EQ(run_in(serve_image(registry, "good"), "cat /hello.txt"), "hello from good\n");
  }

  const fs::path outside_ = state_dir_.path() / "outside";
};

TEST_F(HostilePullTest, EntriesThatLeaveTheLayerDirectoryAreRefusedNamingTheBlob) {
  HUTCH_NEED(has_busybox_rootfs(), "HUTCH_REQUIRE_REGISTRY", "no busybox rootfs tar (.ci/build-test-images.sh)");
  FakeRegistry registry;
  const std::string outside = outside_.string();
  const std::string absolute_escape = (fs::temp_directory_path() / "hutch-escaped-absolute").string();
  struct Case {
    std::string name;
    std::vector<std::string> tars;  // layers, bottom first: the last one is refused
  };
  const std::vector<Case> cases = {
      {"dotdot", {make_raw_tar({{.path = climb_out("hutch-escaped-dotdot"), .data = "x"}})}},
      {"dotdot-inside", {make_raw_tar({{.path = "etc/../../hutch-escaped-inner", .data = "x"}})}},
      {"absolute", {make_raw_tar({{.path = absolute_escape, .data = "x"}})}},
      {"absolute-symlink-then-write",
       {make_raw_tar({{.path = "out", .type = AE_IFLNK, .perm = 0777, .symlink = outside},
                      {.path = "out/hutch-escaped-through-link", .data = "x"}})}},
      {"relative-symlink-then-write",
       {make_raw_tar({{.path = "up", .type = AE_IFLNK, .perm = 0777, .symlink = "../../../../outside"},
                      {.path = "up/hutch-escaped-through-relative-link", .data = "x"}})}},
      // The link in a lower layer, the write through it in the next one.
      {"symlink-in-a-lower-layer",
       {make_raw_tar({{.path = "lib", .type = AE_IFLNK, .perm = 0777, .symlink = outside}}),
        make_raw_tar({{.path = "lib/hutch-escaped-across-layers", .data = "x"}})}},
      {"hardlink-dotdot",
       {make_raw_tar({{.path = "hutch-escaped-hardlink", .hardlink = climb_out("secret")}})}},
      {"hardlink-absolute", {make_raw_tar({{.path = "h", .hardlink = (outside_ / "secret").string()}})}},
      {"hardlink-through-a-symlink",
       {make_raw_tar({{.path = "out", .type = AE_IFLNK, .perm = 0777, .symlink = outside},
                      {.path = "h", .hardlink = "out/secret"}})}},
      {"hardlink-to-a-symlink-pointing-out",
       {make_raw_tar({{.path = "s", .type = AE_IFLNK, .perm = 0777, .symlink = (outside_ / "secret").string()},
                      {.path = "h", .hardlink = "s"}})}},
  };
  for (const Case& attack : cases) {
    SCOPED_TRACE(attack.name);
    const hutch::Error error = refused_pull(registry, "hostile-" + attack.name, attack.tars);
    EXPECT_EQ(error.code(), Errc::permission_denied) << error.what();
    EXPECT_THAT(error.what(), HasSubstr(layer_digests_.back())) << "the message names the refused blob";
    EXPECT_THAT(error.what(), HasSubstr("hostile-" + attack.name)) << "the message names the image";
  }
  EXPECT_FALSE(present(absolute_escape));
  expect_a_good_pull_works(registry);
}

// A write to a path that a lower layer made a symlink replaces the link (the image gets the
// file), never the file the link points to.
TEST_F(HostilePullTest, AFileOverASymlinkOfALowerLayerReplacesTheLinkNotItsTarget) {
  HUTCH_NEED(has_busybox_rootfs(), "HUTCH_REQUIRE_REGISTRY", "no busybox rootfs tar (.ci/build-test-images.sh)");
  FakeRegistry registry;
  std::vector<Layer> layers = busybox_and_hello("relink");
  layers.push_back({make_raw_tar({{.path = "etc/shadow", .type = AE_IFLNK, .perm = 0777,
                                   .symlink = (outside_ / "secret").string()},
                                  {.path = "etc/hosts", .type = AE_IFLNK, .perm = 0777, .symlink = climb_out("secret")}})});
  layers.push_back({make_raw_tar({{.path = "etc/shadow", .perm = 0600, .data = "the image's shadow\n"},
                                  {.path = "etc/hosts", .data = "the image's hosts\n"}})});
  const std::string image = serve_layers(registry, "relink", layers);
  const std::string id = backend().pull_image(image, {});
  expect_nothing_escaped(image);
  const fs::path rootfs = image_root() / id / "rootfs";
  EXPECT_EQ(hutch::test::read_whole(rootfs / "etc" / "shadow"), "the image's shadow\n");
  EXPECT_FALSE(fs::is_symlink(rootfs / "etc" / "shadow"));
  EXPECT_EQ(run_in(image, "cat /etc/hosts"), "the image's hosts\n");
}

// Device nodes are skipped, security.* and trusted.* xattrs dropped; setuid files are kept
// (images need them) but nobody else on the host reaches them: the store is closed (0700).
TEST_F(HostilePullTest, DevicesAndPrivilegedXattrsAreDroppedAndSetuidFilesStayOutOfReach) {
  HUTCH_NEED(has_busybox_rootfs(), "HUTCH_REQUIRE_REGISTRY", "no busybox rootfs tar (.ci/build-test-images.sh)");
  // Setting security.capability and trusted.* needs root; as a user the pull only fails to set them.
  HUTCH_NEED(::geteuid() == 0, "HUTCH_REQUIRE_NAMESPACES", "the attack needs a pull as root");
  FakeRegistry registry;
  std::vector<Layer> layers = busybox_and_hello("privileged");
  layers.push_back({make_raw_tar({
      {.path = "dev", .type = AE_IFDIR, .perm = 0755},
      {.path = "dev/mem", .type = AE_IFCHR, .perm = 0666, .rdev = makedev(1, 1)},
      {.path = "dev/sda", .type = AE_IFBLK, .perm = 0666, .rdev = makedev(8, 0)},
      {.path = "bin/x",
       .perm = 0755,
       .data = "#!/bin/sh\necho x\n",
       .xattrs = {{"security.capability", hutch::test::setuid_setgid_file_capability()},
                  {"trusted.overlay.opaque", "y"},
                  {"user.note", "kept"}}},
      {.path = "bin/suid-tool", .perm = 04755, .data = "#!/bin/sh\necho suid-tool\n"},
  })});
  const std::string image = serve_layers(registry, "privileged", layers);
  const std::string id = backend().pull_image(image, {});
  const fs::path rootfs = image_root() / id / "rootfs";
  EXPECT_FALSE(present(rootfs / "dev" / "mem"));
  EXPECT_FALSE(present(rootfs / "dev" / "sda"));
  char value[64];
  EXPECT_EQ(::lgetxattr((rootfs / "bin" / "x").c_str(), "security.capability", value, sizeof value), -1)
      << "a file capability of the layer reached the host";
  EXPECT_EQ(errno, ENODATA);
  EXPECT_EQ(::lgetxattr((rootfs / "bin" / "x").c_str(), "trusted.overlay.opaque", value, sizeof value), -1);
  EXPECT_EQ(errno, ENODATA);
  ASSERT_EQ(::lgetxattr((rootfs / "bin" / "x").c_str(), "user.note", value, sizeof value), 4);
  EXPECT_EQ(std::string(value, 4), "kept");
  struct stat st {};
  ASSERT_EQ(::lstat((rootfs / "bin" / "suid-tool").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 04755u) << "setuid files are part of images";
  ASSERT_EQ(::lstat(image_root().c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0700u) << "the image store is open to other host users";
  EXPECT_EQ(hutch::test::nobody_runs(rootfs / "bin" / "suid-tool").error, EACCES) << "another host user ran the setuid file";
  EXPECT_EQ(hutch::test::nobody_opens(rootfs / "bin" / "x").error, EACCES);
  EXPECT_EQ(run_in(image, "/bin/suid-tool && /bin/x"), "suid-tool\nx\n");
}

// A layer whose tar ends inside an entry (its header announces more bytes than follow):
// the blob matches its digest, the extraction fails.
TEST_F(HostilePullTest, ALayerThatEndsInsideAnEntryIsRefusedNamingTheBlob) {
  HUTCH_NEED(has_busybox_rootfs(), "HUTCH_REQUIRE_REGISTRY", "no busybox rootfs tar (.ci/build-test-images.sh)");
  FakeRegistry registry;
  std::string tar = make_raw_tar({{.path = "hutch-escaped-big", .data = std::string(256 * 1024, 'b')}});
  tar.resize(100 * 1024);
  const hutch::Error error = refused_pull(registry, "truncated", {tar});
  EXPECT_EQ(error.code(), Errc::io) << error.what();
  EXPECT_THAT(error.what(), HasSubstr(layer_digests_.back()));
  expect_a_good_pull_works(registry);
}

// A blob that never ends is cut where its descriptor's size ends, with bounded memory; a
// layer that unpacks to far more than its blob is written with bounded memory too.
TEST_F(HostilePullTest, AnEndlessBlobIsCutAtItsSizeAndHugeLayersUseBoundedMemory) {
  HUTCH_NEED(has_busybox_rootfs(), "HUTCH_REQUIRE_REGISTRY", "no busybox rootfs tar (.ci/build-test-images.sh)");
  constexpr std::uint64_t kDeclared = 96ull << 20;
  constexpr std::uint64_t kAllowedGrowthKib = 32 * 1024;
  FakeRegistry registry;
  const std::string image = serve_layers(registry, "endless", {{make_hello("endless"), "", kDeclared}});
  registry.put("/v2/endless/blobs/" + layer_digests_[0],
               {"application/octet-stream", std::string(64 * 1024, 'e'), 0, /*endless=*/true});
  const std::uint64_t resident = status_kib("VmRSS");
  reset_peak_memory();
  const hutch::Error error = refused_pull_of(image);
  const std::uint64_t peak = status_kib("VmHWM");
  EXPECT_EQ(error.code(), Errc::invalid_argument) << error.what();
  EXPECT_THAT(error.what(), HasSubstr(layer_digests_[0]));
  EXPECT_THAT(error.what(), HasSubstr("larger than " + std::to_string(kDeclared) + " bytes"));
  EXPECT_LT(peak, resident + kAllowedGrowthKib) << "the download of an endless blob grew the process by "
                                                << (peak - resident) / 1024 << " MiB";
  EXPECT_FALSE(present(blob_file(layer_digests_[0])));

  // 128 MiB of zeros, a blob of a few KiB.
  constexpr std::uint64_t kHuge = 128ull << 20;
  const std::string bomb = make_raw_tar({{.path = "zeros", .data = std::string(kHuge, '\0')}});
  std::vector<Layer> layers = busybox_and_hello("bomb");
  layers.push_back({bomb, "zstd -q -c"});
  const std::string huge = serve_layers(registry, "bomb", layers);
  EXPECT_LT(layers_.back().size(), bomb.size() / 100);
  const std::uint64_t before_huge = status_kib("VmRSS");
  reset_peak_memory();
  const std::string id = backend().pull_image(huge, {});
  EXPECT_LT(status_kib("VmHWM"), before_huge + kAllowedGrowthKib)
      << "applying a 128 MiB layer grew the process by " << (status_kib("VmHWM") - before_huge) / 1024 << " MiB";
  EXPECT_EQ(fs::file_size(image_root() / id / "rootfs" / "zeros"), kHuge);
  expect_a_good_pull_works(registry);
}

TEST_F(HostilePullTest, AManifestThatLiesAboutALayerSizeIsRefusedNamingTheBlob) {
  HUTCH_NEED(has_busybox_rootfs(), "HUTCH_REQUIRE_REGISTRY", "no busybox rootfs tar (.ci/build-test-images.sh)");
  FakeRegistry registry;
  const std::string hello = make_hello("liar");
  const std::uint64_t real = hello.size();
  for (const std::uint64_t declared : {real / 2, real + 1000}) {
    SCOPED_TRACE("declared " + std::to_string(declared) + " of " + std::to_string(real) + " bytes");
    const std::string image = serve_layers(registry, "liar" + std::to_string(declared), {{hello, "", declared}});
    const hutch::Error error = refused_pull_of(image);
    EXPECT_EQ(error.code(), Errc::invalid_argument) << error.what();
    EXPECT_THAT(error.what(), HasSubstr(layer_digests_[0]));
    EXPECT_FALSE(present(blob_file(layer_digests_[0]))) << "a blob of the wrong size was kept";
  }
  expect_a_good_pull_works(registry);
}

TEST_F(HostilePullTest, ABlobThatDoesNotMatchItsDigestIsRefusedNamingItAndNotKept) {
  HUTCH_NEED(has_busybox_rootfs(), "HUTCH_REQUIRE_REGISTRY", "no busybox rootfs tar (.ci/build-test-images.sh)");
  FakeRegistry registry;
  const std::string image = serve_layers(registry, "forged", {{make_hello("forged")}});
  // Same size, other content: only the digest tells.
  const std::string forged = make_raw_tar({{.path = "hutch-escaped-forged", .data = std::string(4, 'f')}});
  std::string served = layers_[0];
  served.replace(0, std::min(served.size(), forged.size()), forged.substr(0, served.size()));
  ASSERT_EQ(served.size(), layers_[0].size());
  registry.put("/v2/forged/blobs/" + layer_digests_[0], {"application/octet-stream", served});
  const hutch::Error error = refused_pull_of(image);
  EXPECT_EQ(error.code(), Errc::invalid_argument) << error.what();
  EXPECT_THAT(error.what(), HasSubstr(layer_digests_[0]));
  EXPECT_THAT(error.what(), HasSubstr("does not match its digest"));
  EXPECT_FALSE(present(blob_file(layer_digests_[0])));
  // Served right, the same image pulls.
  registry.put("/v2/forged/blobs/" + layer_digests_[0], {"application/octet-stream", layers_[0]});
  EXPECT_FALSE(backend().pull_image(image, {}).empty());
  expect_a_good_pull_works(registry);
}

}  // namespace
