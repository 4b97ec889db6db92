// [backends.docker] parsing.
#include "config.hpp"

#include <hutch/config.hpp>
#include <hutch/error.hpp>

#include <gtest/gtest.h>

#include <cstdio>
#include <fstream>
#include <unistd.h>

namespace hutch::docker {
namespace {

DockerConfig parse(const std::string& body) {
  auto root = ConfigTable::parse("[backends.docker]\n" + body, "test.toml");
  auto backends = root.get_table("backends");
  auto table = backends->get_table("docker");
  return DockerConfig::from_table(*table);
}

void expect_config_error(const std::string& body, const std::string& needle) {
  try {
    parse(body);
    ADD_FAILURE() << "accepted:\n" << body;
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), Errc::config) << e.what();
    EXPECT_NE(std::string(e.what()).find(needle), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("test.toml:"), std::string::npos) << e.what();
  }
}

TEST(DockerConfig, DefaultsWhenEmpty) {
  auto config = parse("");
  EXPECT_FALSE(config.endpoint.host);
  EXPECT_EQ(config.pull, PullPolicy::missing);
  EXPECT_EQ(config.workspace, WorkspaceMode::ephemeral);
  EXPECT_EQ(config.request_timeout, std::chrono::seconds(60));
  EXPECT_FALSE(config.host_gateway);
  EXPECT_TRUE(config.bind_allow.empty());
  EXPECT_TRUE(config.env_passthrough.empty());
}

TEST(DockerConfig, ReadsEveryKey) {
  std::string profile = "/tmp/hutch-seccomp-" + std::to_string(::getpid()) + ".json";
  std::ofstream(profile) << R"({"defaultAction": "SCMP_ACT_ALLOW"})";
  auto config = parse(R"(
host = "tcp://127.0.0.1:2375"
api_version = "1.41"
request_timeout = "5s"
pull = "never"
default_image = "fallback:1"
env_passthrough = ["LANG", "LC_*"]
env_block = ["LC_SECRET"]
cap_add = ["CAP_NET_BIND_SERVICE", "CHOWN"]
seccomp_profile = ")" + profile + R"("
bind_allow = ["/srv/data"]
host_gateway = true
stop_grace = "2s"
workspace = "persistent"
[backends.docker.registry_auth]
username = "u"
password = "p"
server = "127.0.0.1:5000"
[backends.docker.image_map]
claude = "agent:1"
default = "base:2"
)");
  std::remove(profile.c_str());
  EXPECT_EQ(*config.endpoint.host, "tcp://127.0.0.1:2375");
  EXPECT_EQ(*config.api_version, "1.41");
  EXPECT_EQ(config.request_timeout, std::chrono::seconds(5));
  EXPECT_EQ(config.pull, PullPolicy::never);
  EXPECT_EQ(config.image_map.resolve("claude-x"), "agent:1");
  EXPECT_EQ(config.image_map.resolve(""), "base:2") << "image_map.default wins over default_image";
  EXPECT_EQ(config.env_passthrough, (std::vector<std::string>{"LANG", "LC_*"}));
  EXPECT_EQ(config.env_block, (std::vector<std::string>{"LC_SECRET"}));
  EXPECT_EQ(config.cap_add, (std::vector<std::string>{"NET_BIND_SERVICE", "CHOWN"}));
  EXPECT_EQ(*config.seccomp_profile_json, R"({"defaultAction":"SCMP_ACT_ALLOW"})");
  EXPECT_EQ(config.bind_allow, (std::vector<std::string>{"/srv/data"}));
  EXPECT_TRUE(config.host_gateway);
  EXPECT_EQ(config.stop_grace, std::chrono::seconds(2));
  EXPECT_EQ(config.workspace, WorkspaceMode::persistent);
  ASSERT_TRUE(config.registry_auth);
  EXPECT_EQ(config.registry_auth->username, "u");
  EXPECT_EQ(config.registry_auth->server, "127.0.0.1:5000");
}

TEST(DockerConfig, DefaultImageIsTheFallback) {
  EXPECT_EQ(parse("default_image = \"x:1\"").image_map.resolve(""), "x:1");
}

TEST(DockerConfig, RejectsMistakesWithTheirLocation) {
  expect_config_error("hots = \"unix:///x\"", "hots");
  expect_config_error("pull = \"sometimes\"", "always, missing, never");
  expect_config_error("workspace = \"temp\"", "ephemeral, persistent, none");
  expect_config_error("api_version = \"1.40\"", "1.41");
  expect_config_error("bind_allow = [\"relative\"]", "absolute");
  expect_config_error("cap_add = [\"net admin\"]", "capability");
  expect_config_error("seccomp_profile = \"/nonexistent/profile.json\"", "cannot read");
  expect_config_error("[backends.docker.registry_auth]\nuser = \"x\"", "user");
  expect_config_error("[backends.docker.image_map]\nx = 3", "x");
}

TEST(DockerConfig, AgentModes) {
  EXPECT_EQ(parse("").agent, AgentMode::automatic);
  EXPECT_EQ(parse("agent = \"off\"").agent, AgentMode::off);
  auto on = parse("agent = \"on\"\nhost = \"unix:///run/docker.sock\"\nagent_binary = \"/opt/hutch-agent\"");
  EXPECT_EQ(on.agent, AgentMode::on);
  EXPECT_EQ(on.agent_binary, "/opt/hutch-agent");
  expect_config_error("agent = \"sometimes\"", "auto, on, off");
  expect_config_error("agent = \"on\"\nhost = \"tcp://127.0.0.1:2375\"", "local unix socket");
  expect_config_error("agent_binary = \"hutch-agent\"", "absolute path");
}

TEST(RegistryAuth, HeaderIsBase64UrlJson) {
  RegistryAuth auth{"u", "p", "reg", ""};
  // {"username":"u","password":"p","serveraddress":"reg"}
  EXPECT_EQ(registry_auth_header(auth), "eyJ1c2VybmFtZSI6InUiLCJwYXNzd29yZCI6InAiLCJzZXJ2ZXJhZGRyZXNzIjoicmVnIn0=");
}

}  // namespace
}  // namespace hutch::docker
