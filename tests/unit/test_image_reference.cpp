// Image names as the docker CLI resolves them, and the [images] table (issue 18).
#include <hutch/config.hpp>
#include <hutch/error.hpp>
#include <hutch/registry.hpp>

#include "error_of.hpp"
#include "temp_dir.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>

namespace {

using hutch::Errc;
using hutch::parse_image_reference;
using hutch::test::code_of;
using ::testing::HasSubstr;

TEST(ImageReference, ShortNamesAreOnDockerHubUnderLibrary) {
  const auto python = parse_image_reference("python:3.12-slim");
  EXPECT_EQ(python.registry, "docker.io");
  EXPECT_EQ(python.repository, "library/python");
  EXPECT_EQ(python.tag, "3.12-slim");
  EXPECT_EQ(python.canonical(), "docker.io/library/python:3.12-slim");
  EXPECT_EQ(python.api_host(), "registry-1.docker.io");
  EXPECT_EQ(parse_image_reference("busybox").canonical(), "docker.io/library/busybox:latest");
  EXPECT_EQ(parse_image_reference("org/app").canonical(), "docker.io/org/app:latest");
  EXPECT_EQ(parse_image_reference("index.docker.io/org/app:2").canonical(), "docker.io/org/app:2");
}

TEST(ImageReference, AFirstComponentWithADotAColonOrLocalhostIsTheRegistry) {
  const auto local = parse_image_reference("127.0.0.1:5000/hutch/busybox:1.36");
  EXPECT_EQ(local.registry, "127.0.0.1:5000");
  EXPECT_EQ(local.repository, "hutch/busybox");
  EXPECT_EQ(local.tag, "1.36");
  EXPECT_EQ(local.api_host(), "127.0.0.1:5000");
  EXPECT_EQ(parse_image_reference("ghcr.io/o/r").canonical(), "ghcr.io/o/r:latest");
  EXPECT_EQ(parse_image_reference("localhost/app").registry, "localhost");
  // "sub/app": no dot, colon or localhost, so a Docker Hub namespace.
  EXPECT_EQ(parse_image_reference("sub/app").registry, "docker.io");
}

TEST(ImageReference, DigestsNameTheManifest) {
  const std::string digest = "sha256:" + std::string(64, 'a');
  const auto pinned = parse_image_reference("reg.io/app@" + digest);
  EXPECT_EQ(pinned.digest, digest);
  EXPECT_EQ(pinned.tag, "");
  EXPECT_EQ(pinned.manifest_reference(), digest);
  EXPECT_EQ(pinned.canonical(), "reg.io/app@" + digest);
  const auto both = parse_image_reference("reg.io:5000/app:1@" + digest);
  EXPECT_EQ(both.tag, "1");
  EXPECT_EQ(both.manifest_reference(), digest);
  EXPECT_EQ(both.registry, "reg.io:5000");
}

TEST(ImageReference, MalformedNamesAreRefusedWithWhatIsWrong) {
  for (const char* bad : {"", "org/Upper", "app:", "app:-tag", "a//b", "app@sha256:short", "app@md5:" ,
                          "reg.io/", "-app", "app/"})
    EXPECT_EQ(code_of([&] { parse_image_reference(bad); }), Errc::invalid_argument) << bad;
  // A 64-hex name is an image id (a snapshot's), never something to pull from Docker Hub.
  EXPECT_EQ(code_of([&] { parse_image_reference(std::string(64, 'f')); }), Errc::invalid_argument);
  EXPECT_THAT(hutch::test::error_of([] { parse_image_reference("App"); }).what(), HasSubstr("'App'"));
}

TEST(ImageSettings, TheImagesTableIsReadAndChecked) {
  const hutch::Config config = hutch::parse_config(R"(
[images]
pull = "never"
insecure_registries = ["registry.lan:5000"]
docker_config = false
[images.auth."registry.example.com"]
username = "me"
password = "secret"
)", "test.toml");
  EXPECT_EQ(config.images.pull, hutch::PullPolicy::never);
  EXPECT_TRUE(config.images.is_insecure("registry.lan:5000"));
  EXPECT_TRUE(config.images.is_insecure("127.0.0.1:5000"));
  EXPECT_TRUE(config.images.is_insecure("127.3.2.1"));
  EXPECT_TRUE(config.images.is_insecure("localhost:5000"));
  EXPECT_FALSE(config.images.is_insecure("registry.example.com"));
  EXPECT_FALSE(config.images.is_insecure("128.0.0.1:5000"));
  ASSERT_TRUE(config.images.credentials_for("registry.example.com"));
  EXPECT_EQ(config.images.credentials_for("registry.example.com")->password, "secret");
  EXPECT_FALSE(config.images.credentials_for("other.example.com"));
  const hutch::Config tls_everywhere = hutch::parse_config("[images]\nloopback_insecure = false\n", "t.toml");
  EXPECT_FALSE(tls_everywhere.images.is_insecure("127.0.0.1:5000"));

  EXPECT_THAT(hutch::test::error_of([] { hutch::parse_config("[images]\npull = \"sometimes\"\n", "t.toml"); }).what(),
              HasSubstr("t.toml:2:"));
  EXPECT_EQ(code_of([] { hutch::parse_config("[images]\npul = \"never\"\n", "t.toml"); }), Errc::config);
  EXPECT_EQ(code_of([] { hutch::parse_config("[images.auth.\"r.io\"]\npassword = \"x\"\n", "t.toml"); }), Errc::config);
}

TEST(ImageSettings, DockerCliLoginsAreReadFromItsConfigJson) {
  const hutch::test::TempDir dir;
  // base64("bob:pw") as `docker login` writes it, under the key the CLI uses for Docker Hub.
  std::ofstream(dir.path() / "config.json")
      << R"({"auths":{"https://index.docker.io/v1/":{"auth":"Ym9iOnB3"},"reg.lan:5000":{"identitytoken":"tok"}}})";
  ::setenv("DOCKER_CONFIG", dir.path().c_str(), 1);
  hutch::ImageSettings settings;
  const auto hub = settings.credentials_for("docker.io");
  const auto lan = settings.credentials_for("reg.lan:5000");
  settings.docker_config = false;
  const auto off = settings.credentials_for("docker.io");
  ::unsetenv("DOCKER_CONFIG");
  ASSERT_TRUE(hub);
  EXPECT_EQ(hub->username, "bob");
  EXPECT_EQ(hub->password, "pw");
  ASSERT_TRUE(lan);
  EXPECT_EQ(lan->identity_token, "tok");
  EXPECT_FALSE(off);
}

}  // namespace
