// The image verbs of the docker backend (issue 18) on the real daemon: images, inspect_image,
// remove_image, prune_images and import_image (a rootfs tarball, a rootfs directory and a
// `docker save` archive from .ci/build-test-images.sh). Every image a test makes has a name
// of this run, and the test removes it; prune is checked to leave other names alone.
#include "docker_fixture.hpp"
#include "engine/query.hpp"
#include "error_of.hpp"
#include "test_registry.hpp"

#include <gmock/gmock.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>

namespace hutch::docker::test {
namespace {

namespace fs = std::filesystem;
using ::testing::Contains;
using ::testing::HasSubstr;

fs::path test_data() { return hutch::test::test_data_dir(); }

class DockerImageVerbsTest : public DockerTest {
 protected:
  void TearDown() override {
    DockerTest::TearDown();
    for (const auto& name : names_) {
      Request remove;
      remove.method = Method::delete_;
      remove.target = Target("/images").segment(name).str();
      try {
        backend_->context()->client->call(remove);
      } catch (const Error& e) {
        if (e.code() != Errc::not_found) ADD_FAILURE() << "removing test image " << name << ": " << e.what();
      }
    }
  }
  // A name of this run for an image the test makes, removed after the test.
  std::string image_name(const std::string& what) {
    names_.push_back("hutch-test-" + what + "-" + random_hex(8) + ":1");
    return names_.back();
  }
  std::optional<ImageInfo> listed(const std::string& name) {
    for (const ImageInfo& image : backend_->images())
      if (std::find(image.names.begin(), image.names.end(), name) != image.names.end()) return image;
    return std::nullopt;
  }
  std::vector<std::string> names_;
};

TEST_F(DockerImageVerbsTest, ImportsARootfsListsInspectsAndRefusesToRemoveItWhileASandboxUsesIt) {
  HUTCH_NEED(fs::exists(test_data() / "busybox-rootfs.tar"), "HUTCH_REQUIRE_DOCKER",
             "the busybox rootfs tar of .ci/build-test-images.sh");
  const std::string name = image_name("import");
  const std::string id = backend_->import_image((test_data() / "busybox-rootfs.tar").string(), name);
  ASSERT_TRUE(id.starts_with("sha256:")) << id;
  const auto entry = listed(name);
  ASSERT_TRUE(entry) << "images() does not list " << name;
  EXPECT_EQ(entry->id, id);
  EXPECT_TRUE(entry->managed);
  EXPECT_GT(entry->size, 100'000u);
  const ImageInfo inspected = backend_->inspect_image(name);
  EXPECT_EQ(inspected.id, id);
  EXPECT_EQ(inspected.layers.size(), 1u);

  auto spec = base_spec();
  spec.image = name;
  auto sandbox = create(spec);
  EXPECT_EQ(sh(*sandbox, "echo imported").stdout_data, "imported\n");
  const auto in_use = listed(name);
  ASSERT_TRUE(in_use) << "images() does not list " << name << " while a sandbox uses it";
  EXPECT_THAT(in_use->used_by, Contains(sandbox->id()));
  try {
    backend_->remove_image(name);
    ADD_FAILURE() << "removed an image a sandbox is made from";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), Errc::state) << e.what();
    EXPECT_THAT(e.what(), HasSubstr(sandbox->id()));
  }
  EXPECT_THAT(backend_->prune_images(), ::testing::Not(Contains(id))) << "pruned an image in use";
  sandbox->destroy();
  created_.clear();

  backend_->remove_image(name);
  EXPECT_FALSE(listed(name));
  EXPECT_EQ(hutch::test::code_of([&] { backend_->inspect_image(name); }), Errc::not_found);
  EXPECT_EQ(hutch::test::code_of([&] { backend_->remove_image(name); }), Errc::not_found);
}

TEST_F(DockerImageVerbsTest, ImportsADirectoryAndADockerSaveArchiveAndPruneRemovesOnlyHutchsNames) {
  HUTCH_NEED(fs::exists(test_data() / "busybox-docker-save.tar"), "HUTCH_REQUIRE_DOCKER",
             "the docker save archive of .ci/build-test-images.sh");
  const hutch::test::TempDir rootfs{"hutch-docker-rootfs-"};
  const std::string untar = "tar -xf " + (test_data() / "busybox-rootfs.tar").string() + " -C " + rootfs.path().string();
  ASSERT_EQ(std::system(untar.c_str()), 0) << untar;
  std::ofstream(rootfs.path() / "marker.txt") << "from the directory\n";
  const std::string dir_name = image_name("dir");
  backend_->import_image(rootfs.path().string(), dir_name);
  auto spec = base_spec();
  spec.image = dir_name;
  auto sandbox = create(spec);
  EXPECT_EQ(sh(*sandbox, "cat /marker.txt").stdout_data, "from the directory\n");
  sandbox->destroy();
  created_.clear();

  // The archive holds the test image itself: loading it names that image once more.
  const std::string loaded_name = image_name("load");
  const std::string loaded_id = backend_->import_image((test_data() / "busybox-docker-save.tar").string(), loaded_name);
  const auto loaded = listed(loaded_name);
  ASSERT_TRUE(loaded) << "images() does not list " << loaded_name;
  EXPECT_TRUE(loaded->managed);
  EXPECT_THAT(loaded->names, Contains(test_image()));

  backend_->prune_images();
  EXPECT_FALSE(listed(dir_name)) << "prune kept an unused import";
  EXPECT_FALSE(listed(loaded_name)) << "prune kept the name hutch gave the loaded image";
  EXPECT_TRUE(listed(test_image())) << "prune removed a name hutch did not give";
  EXPECT_EQ(backend_->inspect_image(test_image()).id, loaded_id);
}

}  // namespace
}  // namespace hutch::docker::test
