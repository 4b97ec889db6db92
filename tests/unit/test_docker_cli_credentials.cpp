// Registry logins from the docker CLI's config.json: its credential helpers (credHelpers,
// credsStore) run as the docker CLI runs them, with "auths" as the fallback (issue 18).
// Helpers are shell scripts the test writes on a PATH of its own (docker_cli_config.hpp).
#include "docker_credential_helper.hpp"

#include <hutch/error.hpp>
#include <hutch/image_settings.hpp>

#include "docker_cli_config.hpp"
#include "error_of.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <signal.h>

#include <chrono>
#include <fstream>

namespace {

using hutch::Errc;
using hutch::ImageSettings;
using hutch::test::DockerCliConfig;
using hutch::test::error_of;
using ::testing::HasSubstr;
using ::testing::Not;

// base64("carol:from-auths"), as `docker login` writes it without a helper.
constexpr const char* kAuthsEntry = R"("auths":{"reg.lan:5000":{"auth":"Y2Fyb2w6ZnJvbS1hdXRocw=="}})";

TEST(DockerCliCredentials, CredHelpersWinOverCredsStoreWhichWinsOverAuths) {
  const DockerCliConfig docker;
  docker.add_answering_helper("perhost", "alice", "from-perhost");
  docker.add_answering_helper("store", "bob", "from-store");
  docker.write_config(std::string(R"({"credHelpers":{"reg.lan:5000":"perhost"},"credsStore":"store",)") + kAuthsEntry + "}");
  const ImageSettings settings;
  const auto lan = settings.credentials_for("reg.lan:5000");
  ASSERT_TRUE(lan);
  EXPECT_EQ(lan->username, "alice");
  EXPECT_EQ(lan->password, "from-perhost");
  EXPECT_EQ(docker.requests_of("perhost"), "reg.lan:5000\n") << "the helper reads the registry host on stdin";
  EXPECT_EQ(docker.requests_of("store"), "");

  const auto other = settings.credentials_for("other.lan");
  ASSERT_TRUE(other);
  EXPECT_EQ(other->username, "bob");
  EXPECT_EQ(other->password, "from-store");

  docker.write_config(std::string("{") + kAuthsEntry + "}");
  const auto from_auths = settings.credentials_for("reg.lan:5000");
  ASSERT_TRUE(from_auths);
  EXPECT_EQ(from_auths->password, "from-auths");

  // docker_config = false: the docker CLI's logins are not looked at, no helper runs.
  docker.write_config(R"({"credsStore":"store"})");
  ImageSettings off;
  off.docker_config = false;
  EXPECT_FALSE(off.credentials_for("other.lan"));
  EXPECT_EQ(docker.requests_of("store"), "other.lan\n");
}

TEST(DockerCliCredentials, DockerHubIsAskedForUnderTheNameTheCliStoresItBy) {
  const DockerCliConfig docker;
  docker.add_answering_helper("hub", "<token>", "refresh-token");
  docker.write_config(R"({"credHelpers":{"https://index.docker.io/v1/":"hub"}})");
  const auto hub = ImageSettings().credentials_for("docker.io");
  ASSERT_TRUE(hub);
  EXPECT_EQ(hub->identity_token, "refresh-token") << "Username <token> makes Secret an identity token";
  EXPECT_EQ(hub->username, "");
  EXPECT_EQ(hub->password, "");
  EXPECT_EQ(docker.requests_of("hub"), "https://index.docker.io/v1/\n");
}

TEST(DockerCliCredentials, AHelperWithoutALoginMeansAnonymousEvenWithAnAuthsEntry) {
  const DockerCliConfig docker;
  docker.add_empty_helper("empty");
  docker.write_config(std::string(R"({"credsStore":"empty",)") + kAuthsEntry + "}");
  EXPECT_FALSE(ImageSettings().credentials_for("reg.lan:5000"));
  EXPECT_EQ(docker.requests_of("empty"), "reg.lan:5000\n");
}

TEST(DockerCliCredentials, AFailingHelperIsAClearErrorThatKeepsItsOutputOut) {
  const DockerCliConfig docker;
  docker.add_helper("broken", "echo 'leaked-secret-4242'; exit 3");
  docker.write_config(R"({"credHelpers":{"reg.lan:5000":"broken"}})");
  const hutch::Error failed = error_of([] { ImageSettings().credentials_for("reg.lan:5000"); });
  EXPECT_EQ(failed.code(), Errc::config);
  EXPECT_THAT(failed.what(), HasSubstr("docker-credential-broken"));
  EXPECT_THAT(failed.what(), HasSubstr("reg.lan:5000"));
  EXPECT_THAT(failed.what(), HasSubstr("status 3"));
  EXPECT_THAT(failed.what(), Not(HasSubstr("leaked-secret-4242")));

  docker.add_helper("garbled", "echo 'not json'");
  docker.write_config(R"({"credsStore":"garbled"})");
  const hutch::Error garbled = error_of([] { ImageSettings().credentials_for("reg.lan:5000"); });
  EXPECT_THAT(garbled.what(), HasSubstr("docker-credential-garbled"));
  EXPECT_THAT(garbled.what(), HasSubstr("JSON"));

  docker.write_config(R"({"credsStore":"not-installed"})");
  const hutch::Error missing = error_of([] { ImageSettings().credentials_for("reg.lan:5000"); });
  EXPECT_EQ(missing.code(), Errc::config);
  EXPECT_THAT(missing.what(), HasSubstr("docker-credential-not-installed"));
  EXPECT_THAT(missing.what(), HasSubstr("not on PATH"));
}

TEST(DockerCliCredentials, AHelperNameIsNeverAPath) {
  const DockerCliConfig docker;
  for (const char* name : {"../../tmp/evil", "a/b", "..", "x y"}) {
    docker.write_config(std::string(R"({"credHelpers":{"reg.lan:5000":")") + name + "\"}}");
    const hutch::Error refused = error_of([] { ImageSettings().credentials_for("reg.lan:5000"); });
    EXPECT_EQ(refused.code(), Errc::config) << name;
    EXPECT_THAT(refused.what(), HasSubstr("config.json")) << name;
    EXPECT_THAT(refused.what(), HasSubstr(name));
  }
}

TEST(DockerCliCredentials, AHelperThatHangsIsKilledAtItsTimeout) {
  const DockerCliConfig docker;
  // Writes its pid where the test finds it, then never answers.
  const std::string pid_file = (std::filesystem::temp_directory_path() / ("hutch-hanging-helper-" +
                                                                          std::to_string(::getpid()))).string();
  docker.add_helper("hangs", "echo $$ >" + pid_file + "; exec sleep 30");
  const auto started = std::chrono::steady_clock::now();
  const hutch::Error late = error_of([] {
    hutch::detail::run_docker_credential_helper("hangs", "reg.lan:5000", "reg.lan:5000", std::chrono::milliseconds(300));
  });
  const auto took = std::chrono::steady_clock::now() - started;
  EXPECT_EQ(late.code(), Errc::config);
  EXPECT_THAT(late.what(), HasSubstr("docker-credential-hangs"));
  EXPECT_THAT(late.what(), HasSubstr("did not answer within 300 ms"));
  EXPECT_LT(took, std::chrono::seconds(5));
  std::ifstream in(pid_file);
  pid_t pid = 0;
  ASSERT_TRUE(in >> pid) << "the helper never ran";
  std::filesystem::remove(pid_file);
  EXPECT_EQ(::kill(pid, 0), -1) << "the helper " << pid << " still runs";
  EXPECT_EQ(errno, ESRCH);
}

}  // namespace
