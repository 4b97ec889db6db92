// `hutch create --publish` and `hutch port`: bad values are refused naming the option and the
// value before any backend is asked; on docker (the engine publishes on this host's loopback)
// `hutch port ID` prints where each port is bound, a URL for TCP, and one port's address alone.
#include "cli_fixture.hpp"
#include "real_backends.hpp"

#include <gtest/gtest.h>

#include <functional>
#include <regex>

namespace hutch::test {
namespace {

using PublishTest = HutchCliTest;

TEST_F(PublishTest, BadPublishValuesNameTheOptionAndTheValue) {
  expect_hutch_error(hutch({"create", "--network", "bridge", "--publish", "70000:80"}), {"--publish", "70000", "65535"});
  expect_hutch_error(hutch({"create", "--network", "bridge", "--publish", "8080:0"}), {"--publish", "SANDBOX_PORT '0'"});
  expect_hutch_error(hutch({"create", "--network", "bridge", "-p", "80/sctp"}), {"--publish", "sctp", "tcp, udp"});
  expect_hutch_error(hutch({"create", "--network", "bridge", "--publish", "localhost:8080:80"}),
                     {"--publish", "'localhost'", "IPv4 or IPv6"});
  expect_hutch_error(hutch({"create", "--network", "bridge", "--publish", "8080:80", "--publish", "0.0.0.0:8080:81"}),
                     {"--publish", "8080/tcp", "twice"});
  expect_hutch_error(hutch({"run", "--publish", "80", "--", "true"}), {"--publish", "bridge", "\"none\""});
}

TEST_F(PublishTest, PortOnABackendWithoutPortsSaysSo) {
  const std::string id = create();
  expect_hutch_error(hutch({"port", id}), {"port"});
  expect_hutch_error(hutch({"port", id, "eighty"}), {"'eighty'", "SANDBOX_PORT"});
}

TEST_F(PublishTest, PortPrintsEachBindingWithAUrlForTcp) {
  HUTCH_NEED(docker_usable(), "HUTCH_REQUIRE_DOCKER", "a docker daemon and the docker plugin");
  // Only this test's sandboxes: the daemon is shared.
  const std::string label = "hutch-cli-test=" + dir().filename().string();
  const std::string docker = kDockerPluginFile.string();
  const std::string id = create({"--backend", docker, "--image", docker_test_image(), "--label", label, "--network",
                                 "bridge", "--publish", "8080", "-p", "127.0.0.1:0:5353/udp"});
  ASSERT_FALSE(id.empty());
  struct RemoveOnExit {
    std::function<void()> remove;
    ~RemoveOnExit() { remove(); }
  } remove_sandbox{[&] { hutch({"--backend", docker, "rm", "-f", id}); }};

  const HutchResult listed = hutch({"--backend", docker, "port", id});
  ASSERT_EQ(listed.exit_code, 0) << listed.err;
  std::smatch match;
  ASSERT_TRUE(std::regex_match(listed.out, match,
                               std::regex("8080/tcp -> 127\\.0\\.0\\.1:([0-9]+) http://127\\.0\\.0\\.1:\\1\n"
                                          "5353/udp -> 127\\.0\\.0\\.1:[0-9]+\n")))
      << listed.out;
  const std::string tcp_port = match[1];

  const HutchResult one = hutch({"--backend", docker, "port", id, "8080/tcp"});
  EXPECT_EQ(one.exit_code, 0) << one.err;
  EXPECT_EQ(one.out, "127.0.0.1:" + tcp_port + "\n");
  expect_hutch_error(hutch({"--backend", docker, "port", id, "9999"}), {id, "9999/tcp"});

  const HutchResult json = hutch({"--backend", docker, "--json", "port", id});
  ASSERT_EQ(json.exit_code, 0) << json.err;
  const boost::json::value bindings = parse_json(json.out);
  ASSERT_TRUE(bindings.is_array()) << json.out;
  ASSERT_EQ(bindings.as_array().size(), 2u);
  const auto& first = bindings.as_array()[0].as_object();
  EXPECT_EQ(first.at("sandbox_port").as_int64(), 8080);
  EXPECT_EQ(first.at("protocol").as_string(), "tcp");
  EXPECT_EQ(first.at("url").as_string(), "http://127.0.0.1:" + tcp_port);
  EXPECT_TRUE(bindings.as_array()[1].as_object().at("url").is_null());
}

}  // namespace
}  // namespace hutch::test
