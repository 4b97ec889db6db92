// The engine's API version and identity read from GET /_ping's headers (engine/client.hpp),
// with the headers dockerd 20.10 and Podman 4.3 send; the live check against both engines is
// DockerTest.PingSaysWhatVersionSays.
#include "engine/client.hpp"

#include <gtest/gtest.h>

namespace hutch::docker {
namespace {

using Headers = std::vector<std::pair<std::string, std::string>>;

TEST(PingFacts, DockerdIsNamedByItsServerHeader) {
  auto facts = ping_facts(Headers{{"Api-Version", "1.41"}, {"Docker-Experimental", "false"}, {"Ostype", "linux"},
                                  {"Server", "Docker/20.10.24+dfsg1 (linux)"}});
  ASSERT_TRUE(facts);
  EXPECT_EQ(facts->api_version, "1.41");
  EXPECT_EQ(facts->identity.kind, EngineIdentity::Kind::docker);
  EXPECT_EQ(facts->identity.version, "20.10.24+dfsg1");
  EXPECT_EQ(facts->identity.describe(), "Docker Engine 20.10.24+dfsg1");
}

TEST(PingFacts, PodmanIsNamedByItsLibpodHeader) {
  auto facts = ping_facts(Headers{{"api-version", "1.41"}, {"Libpod-Api-Version", "4.3.1"},
                                  {"Server", "Libpod/4.3.1 (linux)"}});
  ASSERT_TRUE(facts);
  EXPECT_EQ(facts->api_version, "1.41");
  EXPECT_EQ(facts->identity.kind, EngineIdentity::Kind::podman);
  EXPECT_EQ(facts->identity.describe(), "Podman 4.3.1");
}

TEST(PingFacts, WithoutApiVersionTheVersionDocumentIsNeeded) {
  EXPECT_FALSE(ping_facts(Headers{{"Server", "Docker/24.0.5 (linux)"}}));
  EXPECT_FALSE(ping_facts(Headers{{"Api-Version", ""}}));
}

TEST(PingFacts, AnUnknownServerIsTakenForDockerdWithoutAVersion) {
  auto facts = ping_facts(Headers{{"Api-Version", "1.43"}, {"Server", "some-proxy"}});
  ASSERT_TRUE(facts);
  EXPECT_EQ(facts->identity.kind, EngineIdentity::Kind::docker);
  EXPECT_EQ(facts->identity.version, "");
}

}  // namespace
}  // namespace hutch::docker
