// Pulls from OCI registries on 127.0.0.1 into the subcontainer backend (issue 18): the Debian
// docker-registry that .ci/build-test-images.sh starts and fills with docker (plain HTTP, a
// multi-layer image with whiteouts and an opaque directory), and a fake registry of the test's
// own (fake_registry.hpp) that serves gzip and zstd layers and image indexes, tampers with
// blobs, cuts downloads off, counts requests, asks for credentials and speaks TLS with a CA
// the test makes. No test sends a request anywhere but 127.0.0.1: unqualified names are only
// used with pull = "never".
#include "docker_cli_config.hpp"
#include "error_of.hpp"
#include "image_pull_fixture.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <thread>

namespace fs = std::filesystem;
using hutch::Errc;
using hutch::PullPolicy;
using hutch::test::FakeRegistry;
using hutch::test::ImagePullTest;
using ::testing::HasSubstr;

namespace {

using hutch::test::test_registry;
using hutch::test::test_registry_up;

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

// pull = "missing" asks the registry on the first use of a name only; "always" asks for the
// manifest on every create, and downloads no layer it has.
TEST_F(ImagePullTest, PullAlwaysAsksForTheManifestOnEveryCreateMissingOnlyOnce) {
  HUTCH_NEED(has_busybox_rootfs(), "HUTCH_REQUIRE_REGISTRY", "no busybox rootfs tar (.ci/build-test-images.sh)");
  FakeRegistry registry;
  const std::string image = serve_image(registry, "policy");
  const std::string manifest = "/v2/policy/manifests/1";
  EXPECT_EQ(run_in(image, "cat /hello.txt"), "hello from policy\n");
  EXPECT_EQ(run_in(image, "echo again"), "again\n");
  EXPECT_EQ(registry.requests(manifest), 1);
  for (const auto& sandbox : sandboxes_) backend_->destroy(sandbox->id());
  sandboxes_.clear();
  backend_.reset();
  settings_.pull = PullPolicy::always;
  EXPECT_EQ(run_in(image, "cat /hello.txt"), "hello from policy\n");
  EXPECT_EQ(run_in(image, "echo again"), "again\n");
  EXPECT_EQ(registry.requests(manifest), 3);
  for (const std::string& digest : layer_digests_) EXPECT_EQ(registry.requests("/v2/policy/blobs/" + digest), 1) << digest;
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

// The docker CLI's credential helpers (issue 18): with credHelpers naming a helper for the
// registry, a pull that needs Basic auth succeeds through the helper alone; a helper without
// a login for it means anonymous, as with the docker CLI; a failing helper is a clear error
// that names it and the registry.
TEST_F(ImagePullTest, ADockerCredentialHelperGivesTheLoginOfAPull) {
  HUTCH_NEED(has_busybox_rootfs(), "HUTCH_REQUIRE_REGISTRY", "no busybox rootfs tar (.ci/build-test-images.sh)");
  FakeRegistry registry;
  const std::string image = serve_image(registry, "helped");
  registry.require(FakeRegistry::Auth::basic, "erin:from-helper");
  const hutch::test::DockerCliConfig docker;
  docker.add_answering_helper("hutchtest", "erin", "from-helper");
  docker.add_empty_helper("hutchempty");
  docker.add_helper("hutchbroken", "echo 'erin:from-helper'; exit 1");
  settings_.docker_config = true;
  const auto use_helper = [&](const std::string& name) {
    docker.write_config(R"({"credHelpers":{")" + registry.host() + R"(":")" + name + R"("}})");
  };

  use_helper("hutchempty");
  const hutch::Error anonymous = hutch::test::error_of([&] { backend().pull_image(image, {}); });
  EXPECT_EQ(anonymous.code(), Errc::permission_denied);
  EXPECT_THAT(anonymous.what(), HasSubstr("asks for a user name and password")) << "an anonymous pull";
  EXPECT_EQ(docker.requests_of("hutchempty"), registry.host() + "\n");

  use_helper("hutchbroken");
  const hutch::Error broken = hutch::test::error_of([&] { backend().pull_image(image, {}); });
  EXPECT_EQ(broken.code(), Errc::config);
  EXPECT_THAT(broken.what(), HasSubstr("docker-credential-hutchbroken"));
  EXPECT_THAT(broken.what(), HasSubstr(registry.host()));
  EXPECT_THAT(broken.what(), ::testing::Not(HasSubstr("from-helper"))) << "the helper's output reached the message";

  use_helper("hutchtest");
  EXPECT_EQ(run_in(image, "cat /hello.txt"), "hello from helped\n");
  EXPECT_EQ(docker.requests_of("hutchtest"), registry.host() + "\n") << "one pull asks the helper once";

  // A registry that hands anonymous tokens out: the helper without a login gives an anonymous
  // pull, which works.
  FakeRegistry public_registry;
  const std::string public_image = serve_image(public_registry, "public");
  public_registry.require(FakeRegistry::Auth::anonymous_token, "");
  docker.write_config(R"({"credsStore":"hutchempty"})");
  EXPECT_FALSE(backend().pull_image(public_image, {}).empty());
  EXPECT_EQ(docker.requests_of("hutchempty"), registry.host() + "\n" + public_registry.host() + "\n");
  EXPECT_GE(public_registry.requests("/token"), 1);
}

}  // namespace
