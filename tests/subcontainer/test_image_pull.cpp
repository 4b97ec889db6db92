// Pulls from OCI registries on 127.0.0.1 into the subcontainer backend (issue 18): the Debian
// docker-registry that .ci/build-test-images.sh starts and fills with docker (plain HTTP, a
// multi-layer image with whiteouts and an opaque directory), and a fake registry of the test's
// own (fake_registry.hpp) that serves gzip and zstd layers and image indexes, tampers with
// blobs, cuts downloads off, counts requests, asks for credentials and speaks TLS with a CA
// the test makes. No test sends a request anywhere but 127.0.0.1: unqualified names are only
// used with pull = "never".
#include "blob_store.hpp"
#include "content_digest.hpp"
#include "fake_registry.hpp"
#include "runtime_fixture.hpp"

#include "error_of.hpp"
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
#include <sstream>
#include <thread>

namespace fs = std::filesystem;
using hutch::Errc;
using hutch::ImageSettings;
using hutch::PullPolicy;
using hutch::test::FakeRegistry;
using ::testing::HasSubstr;

namespace {

using hutch::test::test_registry;
using hutch::test::test_registry_up;

fs::path test_data() { return hutch::test::test_data_dir(); }

std::string read_whole(const fs::path& file) {
  std::ifstream in(file, std::ios::binary);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

std::string sha256_of(const std::string& content, const fs::path& scratch) {
  std::ofstream(scratch, std::ios::binary) << content;
  return "sha256:" + hutch::subcontainer::sha256_hex_of_file(scratch);
}

class ImagePullTest : public ::testing::Test {
 protected:
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

  fs::path blob_file(const std::string& digest) const {
    return state_dir_.path() / "subcontainer" / "images" / "blobs" / "sha256" / digest.substr(7);
  }

  // An image in the fake registry: the busybox rootfs as its first layer (gzip), a layer with
  // /hello.txt (zstd), a config with Env. With `as_index`, the tag names an OCI index whose
  // first entry is for another architecture (its manifest is not served) and whose second is
  // for this host's. Returns "host/repo:1".
  std::string serve_image(FakeRegistry& registry, const std::string& repository, bool as_index = false) {
    const std::string rootfs = read_whole(test_data() / "busybox-rootfs.tar");
    std::string hello;
    {
      hutch::ArchiveWriter writer([&](std::string_view chunk) {
        hello.append(chunk);
        return true;
      });
      writer.add_file("hello.txt", "hello from " + repository + "\n");
      writer.finish();
    }
    const fs::path scratch = state_dir_.path() / "scratch";
    layers_ = {compress(rootfs, "gzip -c"), compress(hello, "zstd -q -c")};
    layer_digests_.clear();
    for (const std::string& layer : layers_) layer_digests_.push_back(sha256_of(layer, scratch));
    // diff_ids (digests of the uncompressed layers) make the config, hence the image id,
    // differ between images with other layers.
    const std::string config = R"({"architecture":"amd64","os":"linux","config":{"Env":["PATH=/bin","FROM_CONFIG=yes"]},)"
                               R"("rootfs":{"type":"layers","diff_ids":[")" + sha256_of(rootfs, scratch) + R"(",")" +
                               sha256_of(hello, scratch) + R"("]}})";
    const std::string config_digest = sha256_of(config, scratch);
    const char* types[] = {"application/vnd.oci.image.layer.v1.tar+gzip", "application/vnd.oci.image.layer.v1.tar+zstd"};
    std::string manifest = R"({"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json",)"
                           R"("config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":")" +
                           config_digest + R"(","size":)" + std::to_string(config.size()) + R"(},"layers":[)";
    for (std::size_t i = 0; i < layers_.size(); ++i)
      manifest += std::string(i == 0 ? "" : ",") + R"({"mediaType":")" + types[i] + R"(","digest":")" +
                  layer_digests_[i] + R"(","size":)" + std::to_string(layers_[i].size()) + "}";
    manifest += "]}";
    const std::string manifest_type = "application/vnd.oci.image.manifest.v1+json";
    if (as_index) {
      const std::string manifest_digest = sha256_of(manifest, scratch);
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
    const fs::path in = state_dir_.path() / "compress-in";
    const fs::path out = state_dir_.path() / "compress-out";
    std::ofstream(in, std::ios::binary) << data;
    const std::string line = command + " <" + in.string() + " >" + out.string();
    EXPECT_EQ(std::system(line.c_str()), 0) << line;
    return read_whole(out);
  }

  static std::string host_architecture() {
    utsname name{};
    ::uname(&name);
    const std::string machine = name.machine;
    return machine == "x86_64" ? "amd64" : machine == "aarch64" ? "arm64" : machine;
  }

  // The busybox rootfs tar .ci/build-test-images.sh leaves (CI requires it with the registry).
  bool has_busybox_rootfs() { return fs::exists(test_data() / "busybox-rootfs.tar"); }

  const hutch::test::TempDir state_dir_{"hutchpl-"};
  ImageSettings settings_;
  std::shared_ptr<hutch::SandboxBackend> backend_;
  std::vector<std::shared_ptr<hutch::Handle>> sandboxes_;
  std::vector<std::string> layers_;
  std::vector<std::string> layer_digests_;
};

TEST_F(ImagePullTest, RunsAnImageFromTheLocalRegistryWithItsLayersWhiteoutsAndConfig) {
  HUTCH_NEED(test_registry_up(), "HUTCH_REQUIRE_REGISTRY",
             "the docker-registry on " + test_registry() + " with the test images (.ci/build-test-images.sh)");
  const std::string image = test_registry() + "/hutch/layers:latest";
  // Every layer applied; /bin/vi removed by a whiteout; /data made opaque, so old.txt is gone.
  EXPECT_EQ(run_in(image, "cat /layer-count; ls /data; test -e /bin/vi && echo vi-present; echo ok"),
            "3\nnew.txt\nok\n");
  // The image config feeds the image defaults (issue 14): env, workdir, user.
  EXPECT_EQ(run_in(test_registry() + "/hutch/defaults:latest", "echo $GREETING $(pwd) $(id -u)"),
            "from-image /srv/app 1000\n");
}

TEST_F(ImagePullTest, PullNeverRefusesANameThatIsNotStoredWithoutAsking) {
  settings_.pull = PullPolicy::never;
  hutch::SandboxSpec spec;
  spec.image = "hutch-not-stored-anywhere:1";
  const std::string message = hutch::test::error_of([&] { backend().create(spec); }).what();
  EXPECT_THAT(message, HasSubstr("docker.io/library/hutch-not-stored-anywhere:1"));
  EXPECT_THAT(message, HasSubstr("pull is \"never\""));
}

TEST_F(ImagePullTest, ABlobThatDoesNotMatchItsDigestIsRejectedAndNotKept) {
  HUTCH_NEED(has_busybox_rootfs(), "HUTCH_REQUIRE_REGISTRY", "no busybox rootfs tar (.ci/build-test-images.sh)");
  FakeRegistry registry;
  const std::string image = serve_image(registry, "tampered");
  std::string altered = layers_[1];
  altered[altered.size() / 3] ^= 1;
  registry.put("/v2/tampered/blobs/" + layer_digests_[1], {"application/octet-stream", altered});
  const std::string message = hutch::test::error_of([&] { backend().pull_image(image, {}); }).what();
  EXPECT_THAT(message, HasSubstr(layer_digests_[1]));
  EXPECT_THAT(message, HasSubstr("does not match its digest"));
  EXPECT_FALSE(fs::exists(blob_file(layer_digests_[1])));
  hutch::SandboxSpec spec;
  spec.image = image;
  EXPECT_EQ(hutch::test::code_of([&] { backend().create(spec); }), Errc::invalid_argument);
}

TEST_F(ImagePullTest, TwoPullsOfOneImageAtOnceDownloadEachBlobOnce) {
  HUTCH_NEED(has_busybox_rootfs(), "HUTCH_REQUIRE_REGISTRY", "no busybox rootfs tar (.ci/build-test-images.sh)");
  FakeRegistry registry;
  const std::string image = serve_image(registry, "twice");
  // Two backends on one state dir, as two hutch processes would be: only the store's locks
  // keep them from downloading twice.
  const std::shared_ptr<hutch::SandboxBackend> second_backend = load();
  std::string first, second, failure;
  std::thread other([&] {
    try {
      first = second_backend->pull_image(image, {});
    } catch (const std::exception& e) {
      failure = e.what();
    }
  });
  second = backend().pull_image(image, {});
  other.join();
  EXPECT_EQ(failure, "");
  EXPECT_EQ(first, second);
  for (const std::string& digest : layer_digests_) EXPECT_EQ(registry.requests("/v2/twice/blobs/" + digest), 1) << digest;
  EXPECT_EQ(run_in(image, "cat /hello.txt; echo $FROM_CONFIG"), "hello from twice\nyes\n");
}

TEST_F(ImagePullTest, AnInterruptedPullLeavesNothingTrustedAndTheNextOneSucceeds) {
  HUTCH_NEED(has_busybox_rootfs(), "HUTCH_REQUIRE_REGISTRY", "no busybox rootfs tar (.ci/build-test-images.sh)");
  FakeRegistry registry;
  const std::string image = serve_image(registry, "cut");
  registry.put("/v2/cut/blobs/" + layer_digests_[0], {"application/octet-stream", layers_[0], /*cut_off_times=*/1});
  EXPECT_EQ(hutch::test::code_of([&] { backend().pull_image(image, {}); }), Errc::io);
  EXPECT_FALSE(fs::exists(blob_file(layer_digests_[0])));
  for (const auto& entry : fs::directory_iterator(blob_file(layer_digests_[0]).parent_path()))
    EXPECT_FALSE(entry.path().filename().string().find(".tmp-") != std::string::npos) << entry.path();
  EXPECT_EQ(run_in(image, "cat /hello.txt"), "hello from cut\n");
  EXPECT_EQ(registry.requests("/v2/cut/blobs/" + layer_digests_[0]), 2);
}

TEST_F(ImagePullTest, AnIndexIsFollowedToThisHostsPlatform) {
  HUTCH_NEED(has_busybox_rootfs(), "HUTCH_REQUIRE_REGISTRY", "no busybox rootfs tar (.ci/build-test-images.sh)");
  FakeRegistry registry;
  const std::string image = serve_image(registry, "multi", /*as_index=*/true);
  EXPECT_EQ(run_in(image, "cat /hello.txt"), "hello from multi\n");
  EXPECT_EQ(registry.requests("/v2/multi/manifests/sha256:" + std::string(64, '0')), 0);
}

// With loopback_insecure = false a registry on 127.0.0.1 is reached over TLS, and its
// certificate must chain to a CA the system store has (SSL_CERT_FILE points it at the test's).
TEST_F(ImagePullTest, TlsIsVerifiedAgainstTheSystemStore) {
  HUTCH_NEED(has_busybox_rootfs(), "HUTCH_REQUIRE_REGISTRY", "no busybox rootfs tar (.ci/build-test-images.sh)");
  const fs::path tls = state_dir_.path() / "tls";
  fs::create_directory(tls);
  const std::string make_certificates =
      "cd " + tls.string() + " && (openssl req -x509 -newkey rsa:2048 -nodes -keyout ca.key -out ca.crt -days 1 "
      "-subj /CN=hutch-test-ca -addext basicConstraints=critical,CA:TRUE && "
      "openssl req -newkey rsa:2048 -nodes -keyout server.key -out server.csr -subj /CN=127.0.0.1 && "
      "printf 'subjectAltName=IP:127.0.0.1\\n' >ext && "
      "openssl x509 -req -in server.csr -CA ca.crt -CAkey ca.key -CAcreateserial -out server.crt -days 1 -extfile ext"
      ") >/dev/null 2>&1";
  ASSERT_EQ(std::system(make_certificates.c_str()), 0) << make_certificates << " (install openssl)";
  FakeRegistry registry(FakeRegistry::TlsFiles{(tls / "server.crt").string(), (tls / "server.key").string()});
  const std::string image = serve_image(registry, "secure");
  registry.require(FakeRegistry::Auth::token, "carol:pw");  // the token realm is https too
  settings_.loopback_insecure = false;
  settings_.auth[registry.host()] = {"carol", "pw", ""};

  // The system store does not know the test's CA.
  const char* previous = std::getenv("SSL_CERT_FILE");
  ::unsetenv("SSL_CERT_FILE");
  const hutch::Error untrusted = hutch::test::error_of([&] { backend().pull_image(image, {}); });
  EXPECT_EQ(untrusted.code(), Errc::io);
  EXPECT_THAT(untrusted.what(), HasSubstr("certificate verify failed"));

  ::setenv("SSL_CERT_FILE", (tls / "ca.crt").c_str(), 1);
  std::string id;
  EXPECT_NO_THROW(id = backend().pull_image(image, {}));
  if (previous != nullptr) ::setenv("SSL_CERT_FILE", previous, 1);
  else ::unsetenv("SSL_CERT_FILE");
  EXPECT_FALSE(id.empty());
  EXPECT_EQ(run_in(image, "cat /hello.txt"), "hello from secure\n");
}

TEST_F(ImagePullTest, BasicAuthAndTheTokenFlowUseTheConfiguredCredentials) {
  HUTCH_NEED(has_busybox_rootfs(), "HUTCH_REQUIRE_REGISTRY", "no busybox rootfs tar (.ci/build-test-images.sh)");
  FakeRegistry registry;
  const std::string image = serve_image(registry, "private");
  registry.require(FakeRegistry::Auth::basic, "alice:secret");
  EXPECT_EQ(hutch::test::code_of([&] { backend().pull_image(image, {}); }), Errc::permission_denied);
  backend_.reset();
  settings_.auth[registry.host()] = {"alice", "secret", ""};
  EXPECT_FALSE(backend().pull_image(image, {}).empty());

  FakeRegistry token_registry;
  const std::string token_image = serve_image(token_registry, "tokened");
  token_registry.require(FakeRegistry::Auth::token, "bob:hunter2");
  backend_.reset();
  settings_.auth[token_registry.host()] = {"bob", "wrong", ""};
  EXPECT_EQ(hutch::test::code_of([&] { backend().pull_image(token_image, {}); }), Errc::permission_denied);
  backend_.reset();
  settings_.auth[token_registry.host()] = {"bob", "hunter2", ""};
  EXPECT_EQ(run_in(token_image, "cat /hello.txt"), "hello from tokened\n");
  EXPECT_GE(token_registry.requests("/token"), 1);
}

}  // namespace
