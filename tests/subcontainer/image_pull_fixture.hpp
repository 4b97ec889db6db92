// The fixture of the pull tests (test_image_pull*.cpp): a subcontainer backend on a state
// directory of the test's own, and images the test serves from a fake registry on 127.0.0.1
// (fake_registry.hpp): layers it builds, compressed as it says, described by a manifest that
// may lie about their sizes.
#pragma once

#include "blob_store.hpp"
#include "content_digest.hpp"
#include "fake_registry.hpp"
#include "runtime_fixture.hpp"

#include "require.hpp"
#include "temp_dir.hpp"
#include "test_registry.hpp"

#include <hutch/archive.hpp>
#include <hutch/error.hpp>
#include <hutch/loader.hpp>
#include <hutch/log.hpp>
#include <hutch/registry.hpp>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <sys/utsname.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

namespace hutch::test {

inline std::string read_whole(const std::filesystem::path& file) {
  std::ifstream in(file, std::ios::binary);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

class ImagePullTest : public ::testing::Test {
 protected:
  // A layer to serve: a tar, compressed by `compressor` (a command such as "gzip -c"; empty:
  // served as a plain tar), described in the manifest with its real size unless
  // `declared_size` says otherwise.
  struct Layer {
    std::string tar;
    std::string compressor;
    std::optional<std::uint64_t> declared_size;
  };

  void SetUp() override {
    HUTCH_NEED(::geteuid() == 0 || hutch::subcontainer::test::namespaces_available(), "HUTCH_REQUIRE_NAMESPACES",
               "root or unprivileged user namespaces, and the helper binary");
    settings_.docker_config = false;  // the user's docker logins are not the test's
  }
  void TearDown() override {
    for (const auto& sandbox : sandboxes_) backend_->destroy(sandbox->id());
    sandboxes_.clear();
    backend_.reset();
  }

  std::shared_ptr<hutch::SandboxBackend> load() const {
    return hutch::subcontainer::test::load_plugin(state_dir_.path(), settings_);
  }
  hutch::SandboxBackend& backend() {
    if (!backend_) backend_ = load();
    return *backend_;
  }

  // stdout of `sh -c script` in a new sandbox of `image` (which must succeed).
  std::string run_in(const std::string& image, const std::string& script) {
    hutch::SandboxSpec spec;
    spec.image = image;
    sandboxes_.push_back(backend().create(spec));
    hutch::ExecRequest request;
    request.argv = {"/bin/sh", "-c", script};
    const hutch::ExecResult result = sandboxes_.back()->exec(request);
    EXPECT_EQ(result.exit_code, 0) << script << ": " << result.stderr_data;
    return result.stdout_data;
  }

  std::filesystem::path image_root() const { return state_dir_.path() / "subcontainer" / "images"; }
  std::filesystem::path blob_file(const std::string& digest) const {
    return image_root() / "blobs" / "sha256" / digest.substr(7);
  }

  std::string sha256_of(const std::string& content) const {
    const std::filesystem::path scratch = state_dir_.path() / "scratch";
    std::ofstream(scratch, std::ios::binary) << content;
    return "sha256:" + hutch::subcontainer::sha256_hex_of_file(scratch);
  }

  // The busybox rootfs as a gzip layer and a zstd layer with /hello.txt.
  std::vector<Layer> busybox_and_hello(const std::string& repository) {
    return {{read_whole(test_data_dir() / "busybox-rootfs.tar"), "gzip -c"},
            {make_hello(repository), "zstd -q -c"}};
  }

  static std::string make_hello(const std::string& repository) {
    std::string hello;
    hutch::ArchiveWriter writer([&](std::string_view chunk) {
      hello.append(chunk);
      return true;
    });
    writer.add_file("hello.txt", "hello from " + repository + "\n");
    writer.finish();
    return hello;
  }

  // An image in the fake registry: the busybox rootfs as its first layer (gzip), a layer with
  // /hello.txt (zstd), a config with Env. With `as_index`, the tag names an OCI index whose
  // first entry is for another architecture (its manifest is not served) and whose second is
  // for this host's. Returns "host/repo:1".
  std::string serve_image(FakeRegistry& registry, const std::string& repository, bool as_index = false) {
    return serve_layers(registry, repository, busybox_and_hello(repository), as_index);
  }

  // An image of `layers` in the fake registry under <repository>:1; layers_ and
  // layer_digests_ are its blobs as served. Returns "host/repo:1".
  std::string serve_layers(FakeRegistry& registry, const std::string& repository, const std::vector<Layer>& layers,
                           bool as_index = false) {
    layers_.clear();
    layer_digests_.clear();
    std::string diff_ids;
    for (const Layer& layer : layers) {
      layers_.push_back(layer.compressor.empty() ? layer.tar : compress(layer.tar, layer.compressor));
      layer_digests_.push_back(sha256_of(layers_.back()));
      diff_ids += std::string(diff_ids.empty() ? "\"" : ",\"") + sha256_of(layer.tar) + "\"";
    }
    // diff_ids (digests of the uncompressed layers) make the config, hence the image id,
    // differ between images with other layers.
    const std::string config = R"({"architecture":"amd64","os":"linux","config":{"Env":["PATH=/bin","FROM_CONFIG=yes"]},)"
                               R"("rootfs":{"type":"layers","diff_ids":[)" + diff_ids + "]}}";
    const std::string config_digest = sha256_of(config);
    std::string manifest = R"({"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json",)"
                           R"("config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":")" +
                           config_digest + R"(","size":)" + std::to_string(config.size()) + R"(},"layers":[)";
    for (std::size_t i = 0; i < layers.size(); ++i)
      manifest += std::string(i == 0 ? "" : ",") + R"({"mediaType":")" + media_type(layers[i].compressor) +
                  R"(","digest":")" + layer_digests_[i] + R"(","size":)" +
                  std::to_string(layers[i].declared_size.value_or(layers_[i].size())) + "}";
    manifest += "]}";
    const std::string manifest_type = "application/vnd.oci.image.manifest.v1+json";
    if (as_index) {
      const std::string manifest_digest = sha256_of(manifest);
      const std::string index = R"({"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[)"
                                R"({"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"sha256:)" +
                                std::string(64, '0') + R"(","size":10,"platform":{"os":"linux","architecture":"s390x"}},)"
                                R"({"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":")" + manifest_digest +
                                R"(","size":)" + std::to_string(manifest.size()) +
                                R"(,"platform":{"os":"linux","architecture":")" + host_architecture() + R"("}}]})";
      registry.put("/v2/" + repository + "/manifests/1", {"application/vnd.oci.image.index.v1+json", index});
      registry.put("/v2/" + repository + "/manifests/" + manifest_digest, {manifest_type, manifest});
    } else {
      registry.put("/v2/" + repository + "/manifests/1", {manifest_type, manifest});
    }
    registry.put("/v2/" + repository + "/blobs/" + config_digest, {"application/octet-stream", config});
    for (std::size_t i = 0; i < layers_.size(); ++i)
      registry.put("/v2/" + repository + "/blobs/" + layer_digests_[i], {"application/octet-stream", layers_[i]});
    return registry.host() + "/" + repository + ":1";
  }

  // `data` through a compressor command (gzip, zstd: .ci/install-deps.sh test).
  std::string compress(const std::string& data, const std::string& command) {
    const std::filesystem::path in = state_dir_.path() / "compress-in";
    const std::filesystem::path out = state_dir_.path() / "compress-out";
    std::ofstream(in, std::ios::binary) << data;
    const std::string line = command + " <" + in.string() + " >" + out.string();
    EXPECT_EQ(std::system(line.c_str()), 0) << line;
    return read_whole(out);
  }

  static std::string media_type(const std::string& compressor) {
    if (compressor.starts_with("gzip")) return "application/vnd.oci.image.layer.v1.tar+gzip";
    if (compressor.starts_with("zstd")) return "application/vnd.oci.image.layer.v1.tar+zstd";
    return "application/vnd.oci.image.layer.v1.tar";
  }

  static std::string host_architecture() {
    utsname name{};
    ::uname(&name);
    const std::string machine = name.machine;
    return machine == "x86_64" ? "amd64" : machine == "aarch64" ? "arm64" : machine;
  }

  // The busybox rootfs tar .ci/build-test-images.sh leaves (CI requires it with the registry).
  bool has_busybox_rootfs() { return std::filesystem::exists(test_data_dir() / "busybox-rootfs.tar"); }

  const hutch::test::TempDir state_dir_{"hutchpl-"};
  ImageSettings settings_;
  std::shared_ptr<hutch::SandboxBackend> backend_;
  std::vector<std::shared_ptr<hutch::Handle>> sandboxes_;
  std::vector<std::string> layers_;
  std::vector<std::string> layer_digests_;
};

}  // namespace hutch::test
