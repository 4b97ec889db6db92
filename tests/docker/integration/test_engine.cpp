// The engine client against the real daemon.
#include "docker_fixture.hpp"

#include <boost/json.hpp>

#include <filesystem>

namespace hutch::docker::test {
namespace {

TEST_F(DockerTest, NegotiatesTheLowerOfBothApiVersions) {
  auto& client = *backend_->context()->client;
  auto version = client.api_version();
  Request request;
  request.target = "/version";
  auto daemon = std::string(boost::json::parse(client.call(request).body).at("ApiVersion").as_string());
  EXPECT_GE(compare_api_versions(version, kMinApiVersion), 0);
  EXPECT_LE(compare_api_versions(version, kMaxApiVersion), 0);
  EXPECT_LE(compare_api_versions(version, daemon), 0);
  EXPECT_TRUE(version == daemon || version == kMaxApiVersion) << version << " vs daemon " << daemon;
}

// The negotiation reads GET /_ping (Podman takes seconds for GET /version): what its headers
// say must be what the version document says, on every engine the suite runs against.
TEST_F(DockerTest, PingSaysWhatVersionSays) {
  auto& client = *backend_->context()->client;
  Request version;
  version.target = "/version";
  const auto document = boost::json::parse(client.call(version).body);
  Request ping;
  ping.target = "/_ping";
  const auto facts = ping_facts(client.call(ping).headers);
  ASSERT_TRUE(facts) << "the engine's ping carries no Api-Version";
  EXPECT_EQ(facts->api_version, std::string(document.at("ApiVersion").as_string()));
  const EngineIdentity from_version = identify_engine(document);
  EXPECT_EQ(facts->identity.kind, from_version.kind);
  EXPECT_EQ(facts->identity.version, from_version.version);
  EXPECT_EQ(client.engine().describe(), from_version.describe());
}

TEST_F(DockerTest, ManyCallsReuseConnections) {
  auto& client = *backend_->context()->client;
  auto fds_before = std::distance(std::filesystem::directory_iterator("/proc/self/fd"), {});
  for (int i = 0; i < 200; ++i) client.ping();
  auto fds_after = std::distance(std::filesystem::directory_iterator("/proc/self/fd"), {});
  EXPECT_LE(fds_after - fds_before, 4) << "connections are leaking instead of being pooled";
}

TEST_F(DockerTest, DaemonErrorsCarryItsMessage) {
  Request request;
  request.target = "/containers/hutch-surely-missing/json";
  request.what = "inspect sandbox hutch-surely-missing";
  try {
    backend_->context()->client->call(request);
    FAIL() << "inspecting a missing container succeeded";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), Errc::not_found);
    // dockerd: "No such container: ID"; Podman: "no container with name or ID "ID" found: no such container".
    EXPECT_TRUE(is_container_gone(e)) << e.what();
    EXPECT_NE(std::string(e.what()).find("hutch-surely-missing"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("(HTTP 404)"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace hutch::docker::test
