// The image verbs of the subcontainer backend (issue 18): images, inspect_image, remove_image,
// prune_images and import_image on a real store, with images pulled from the docker-registry
// that .ci/build-test-images.sh runs on 127.0.0.1 and sandboxes made from them.
#include "runtime_fixture.hpp"

#include "error_of.hpp"
#include "require.hpp"
#include "temp_dir.hpp"
#include "test_registry.hpp"

#include <hutch/error.hpp>
#include <hutch/log.hpp>
#include <hutch/registry.hpp>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>

namespace fs = std::filesystem;
using hutch::Errc;
using hutch::ImageInfo;
using ::testing::Contains;
using ::testing::HasSubstr;

namespace {

using hutch::test::test_registry;
using hutch::test::test_registry_up;

fs::path test_data() { return hutch::test::test_data_dir(); }

class ImageVerbsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    HUTCH_NEED(::geteuid() == 0 || hutch::subcontainer::test::namespaces_available(), "HUTCH_REQUIRE_NAMESPACES",
               "root or unprivileged user namespaces, and the helper binary");
    settings_.docker_config = false;
    settings_.pull = hutch::PullPolicy::never;  // nothing but the explicit pulls asks a registry
  }
  void TearDown() override {
    for (const auto& sandbox : sandboxes_) backend_->destroy(sandbox->id());
    sandboxes_.clear();
    backend_.reset();
  }
  hutch::SandboxBackend& backend() {
    if (!backend_) backend_ = hutch::subcontainer::test::load_plugin(state_dir_.path(), settings_);
    return *backend_;
  }
  std::shared_ptr<hutch::Handle> create_from(const std::string& image) {
    hutch::SandboxSpec spec;
    spec.image = image;
    sandboxes_.push_back(backend().create(spec));
    return sandboxes_.back();
  }
  std::string sh(hutch::Handle& sandbox, const std::string& script) {
    hutch::ExecRequest request;
    request.argv = {"/bin/sh", "-c", script};
    const hutch::ExecResult result = sandbox.exec(request);
    EXPECT_EQ(result.exit_code, 0) << script << ": " << result.stderr_data;
    return result.stdout_data;
  }
  void destroy(const std::shared_ptr<hutch::Handle>& sandbox) {
    backend().destroy(sandbox->id());
    sandboxes_.erase(std::find(sandboxes_.begin(), sandboxes_.end(), sandbox));
  }
  fs::path blob_file(const std::string& digest) const {
    return state_dir_.path() / "subcontainer" / "images" / "blobs" / "sha256" / digest.substr(7);
  }
  std::optional<ImageInfo> listed(const std::string& id) {
    for (const ImageInfo& image : backend().images())
      if (image.id == id) return image;
    return std::nullopt;
  }

  const hutch::test::TempDir state_dir_{"hutchiv-"};
  hutch::ImageSettings settings_;
  std::shared_ptr<hutch::SandboxBackend> backend_;
  std::vector<std::shared_ptr<hutch::Handle>> sandboxes_;
};

#define NEED_REGISTRY()                                                                                \
  HUTCH_NEED(test_registry_up(), "HUTCH_REQUIRE_REGISTRY",                                           \
             "the docker-registry on " + test_registry() + " with the test images (.ci/build-test-images.sh)")

TEST_F(ImageVerbsTest, ListsInspectsAndRemovesAPulledImageButNotWhileASandboxIsMadeFromIt) {
  NEED_REGISTRY();
  const std::string name = test_registry() + "/hutch/busybox:latest";
  const std::string id = backend().pull_image(name, {});

  const auto entry = listed(id);
  ASSERT_TRUE(entry) << "images() does not list the pulled image " << id;
  EXPECT_THAT(entry->names, Contains(name));
  EXPECT_TRUE(entry->managed);
  EXPECT_GT(entry->size, 100'000u) << "busybox takes more than 100 kB";
  EXPECT_TRUE(entry->used_by.empty());

  const ImageInfo inspected = backend().inspect_image(name);
  EXPECT_EQ(inspected.id, id);
  ASSERT_FALSE(inspected.layers.empty());
  for (const auto& digest : inspected.layers) EXPECT_TRUE(fs::exists(blob_file(digest))) << digest;
  EXPECT_THAT(inspected.source, HasSubstr(name + "@sha256:"));
  EXPECT_EQ(backend().inspect_image(id).id, id) << "inspect by id";

  auto sandbox = create_from(name);
  EXPECT_THAT(listed(id)->used_by, Contains(sandbox->id()));
  const hutch::Error refused = hutch::test::error_of([&] { backend().remove_image(name); });
  EXPECT_EQ(refused.code(), Errc::state) << refused.what();
  EXPECT_THAT(refused.what(), HasSubstr(sandbox->id()));
  EXPECT_EQ(sh(*sandbox, "echo still here"), "still here\n");

  destroy(sandbox);
  backend().remove_image(name);
  EXPECT_FALSE(listed(id)) << "the image is still listed after remove_image";
  EXPECT_EQ(hutch::test::code_of([&] { backend().inspect_image(name); }), Errc::not_found);
  EXPECT_EQ(hutch::test::code_of([&] { backend().remove_image(name); }), Errc::not_found);
}

TEST_F(ImageVerbsTest, PruneRemovesUnusedPulledImagesAndTheBlobsOnlyTheyUsed) {
  NEED_REGISTRY();
  const std::string busybox = test_registry() + "/hutch/busybox:latest";
  const std::string layers = test_registry() + "/hutch/layers:latest";
  const std::string busybox_id = backend().pull_image(busybox, {});
  const std::string layers_id = backend().pull_image(layers, {});
  const ImageInfo busybox_info = backend().inspect_image(busybox);
  const ImageInfo layers_info = backend().inspect_image(layers);
  auto sandbox = create_from(layers);
  auto snapshot = sandbox->snapshot("kept-by-prune");

  const std::vector<std::string> pruned = backend().prune_images();
  EXPECT_THAT(pruned, Contains(busybox_id));
  EXPECT_THAT(pruned, ::testing::Not(Contains(layers_id))) << "pruned an image a sandbox is made from";
  EXPECT_FALSE(listed(busybox_id));
  EXPECT_TRUE(listed(layers_id));
  EXPECT_TRUE(listed(snapshot.id)) << "prune removed a snapshot";
  for (const auto& digest : layers_info.layers) EXPECT_TRUE(fs::exists(blob_file(digest))) << "blob " << digest << " of a kept image";
  for (const auto& digest : busybox_info.layers)
    if (std::find(layers_info.layers.begin(), layers_info.layers.end(), digest) == layers_info.layers.end())
      EXPECT_FALSE(fs::exists(blob_file(digest))) << "blob " << digest << " of the pruned image is still stored";
  EXPECT_EQ(sh(*sandbox, "echo after prune"), "after prune\n");

  destroy(sandbox);
  backend().delete_snapshot(snapshot.id);
  EXPECT_THAT(backend().prune_images(), Contains(layers_id));
  EXPECT_TRUE(backend().images().empty());
  std::size_t blobs_left = 0;
  for (const auto& entry : fs::directory_iterator(blob_file(layers_info.layers.front()).parent_path()))
    if (entry.path().filename().string().size() == 64) ++blobs_left;
  EXPECT_EQ(blobs_left, 0u) << "blobs left after every image was pruned";
}

TEST_F(ImageVerbsTest, ImportsAnArchiveAndADirectoryUnderANameThatMovesOnReimport) {
  HUTCH_NEED(fs::exists(test_data() / "busybox-rootfs.tar"), "HUTCH_REQUIRE_REGISTRY",
             "the busybox rootfs tar of .ci/build-test-images.sh");
  const std::string archive_id = backend().import_image((test_data() / "busybox-rootfs.tar").string(), "mine:1");
  ASSERT_TRUE(listed(archive_id));
  EXPECT_THAT(listed(archive_id)->names, Contains("mine:1"));
  EXPECT_TRUE(listed(archive_id)->managed);
  auto from_archive = create_from("mine:1");
  EXPECT_EQ(sh(*from_archive, "echo from the archive"), "from the archive\n");
  destroy(from_archive);

  const hutch::test::TempDir rootfs{"hutchiv-rootfs-"};
  const std::string untar = "tar -xf " + (test_data() / "busybox-rootfs.tar").string() + " -C " + rootfs.path().string();
  ASSERT_EQ(std::system(untar.c_str()), 0) << untar;
  std::ofstream(rootfs.path() / "marker.txt") << "from the directory\n";
  const std::string dir_id = backend().import_image(rootfs.path().string(), "mine:1");
  EXPECT_NE(dir_id, archive_id);
  auto from_dir = create_from("mine:1");
  EXPECT_EQ(sh(*from_dir, "cat /marker.txt"), "from the directory\n");
  EXPECT_TRUE(listed(archive_id)->names.empty()) << "the name stayed on the archive's image";

  EXPECT_EQ(hutch::test::code_of([&] { backend().import_image((rootfs.path() / "nope").string(), "x:1"); }), Errc::not_found);
  EXPECT_EQ(hutch::test::code_of([&] { backend().import_image(rootfs.path().string(), "../bad"); }), Errc::invalid_argument);
  EXPECT_EQ(hutch::test::code_of([&] { backend().import_image(rootfs.path().string(), ""); }), Errc::invalid_argument);

  const std::vector<std::string> pruned = backend().prune_images();
  EXPECT_THAT(pruned, Contains(archive_id)) << "the unnamed, unused import was kept";
  EXPECT_THAT(pruned, ::testing::Not(Contains(dir_id)));
  destroy(from_dir);
}

}  // namespace
