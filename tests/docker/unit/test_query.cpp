#include "engine/client.hpp"
#include "engine/endpoint.hpp"
#include "engine/query.hpp"
#include "images.hpp"

#include <hutch/error.hpp>

#include <gtest/gtest.h>

#include <cstdlib>

namespace hutch::docker {
namespace {

TEST(Query, PercentEncodesReservedCharacters) {
  EXPECT_EQ(percent_encode("abc-._~XYZ019"), "abc-._~XYZ019");
  EXPECT_EQ(percent_encode("/a b"), "%2Fa%20b");
  EXPECT_EQ(percent_encode("k=v&x"), "k%3Dv%26x");
  EXPECT_EQ(percent_encode(std::string("\xc3\xa9", 2)), "%C3%A9");
}

TEST(Query, BuildsTargetsInOrder) {
  EXPECT_EQ(Target("/containers/json").str(), "/containers/json");
  EXPECT_EQ(Target("/containers").segment("hutch-1").str(), "/containers/hutch-1");
  EXPECT_EQ(Target("/images").segment("repo/name:tag").str(), "/images/repo%2Fname%3Atag");
  EXPECT_EQ(Target("/x").add("path", "/tmp/a b").add("all", true).add("t", 5LL).str(),
            "/x?path=%2Ftmp%2Fa%20b&all=true&t=5");
}

TEST(Query, AnEmptySegmentIsRefused) {
  // "/containers//json" would reach another route of the daemon (`hutch exec "" ...` once did).
  try {
    Target("/containers").segment("");
    FAIL() << "an empty segment was accepted";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), Errc::invalid_argument);
    EXPECT_NE(std::string(e.what()).find("/containers/<name>"), std::string::npos) << e.what();
  }
}

TEST(Query, FiltersAreJson) {
  EXPECT_EQ(filters_json({{"label", {"hutch.managed=true", "a=b"}}}), R"({"label":["hutch.managed=true","a=b"]})");
  EXPECT_EQ(percent_encode(filters_json({{"label", {"k=v"}}})), "%7B%22label%22%3A%5B%22k%3Dv%22%5D%7D");
}

TEST(Endpoint, ParsesUnixAndTcp) {
  auto unix_endpoint = parse_endpoint("unix:///run/docker.sock");
  EXPECT_EQ(unix_endpoint.kind, Endpoint::Kind::unix_socket);
  EXPECT_EQ(unix_endpoint.path, "/run/docker.sock");
  EXPECT_EQ(parse_endpoint("/var/run/docker.sock").path, "/var/run/docker.sock");
  auto tcp = parse_endpoint("tcp://127.0.0.1:2375");
  EXPECT_EQ(tcp.kind, Endpoint::Kind::tcp);
  EXPECT_EQ(tcp.host, "127.0.0.1");
  EXPECT_EQ(tcp.port, 2375);
  EXPECT_EQ(parse_endpoint("tcp://[::1]:1234").host, "::1");
  EXPECT_EQ(parse_endpoint("tcp://docker-host").port, 2375);
  EXPECT_EQ(tcp.to_string(), "tcp://127.0.0.1:2375");
}

TEST(Endpoint, RefusesWhatItCannotSpeak) {
  for (const char* bad : {"ssh://host", "https://host:2376", "unix://relative", "tcp://:12", "tcp://h:99999",
                          "tcp://h:x"}) {
    try {
      parse_endpoint(bad);
      ADD_FAILURE() << bad << " was accepted";
    } catch (const Error& e) {
      EXPECT_EQ(e.code(), Errc::invalid_argument) << bad;
      EXPECT_NE(std::string(e.what()).find(bad), std::string::npos) << e.what();
    }
  }
}


TEST(ApiVersion, ComparesNumerically) {
  EXPECT_LT(compare_api_versions("1.9", "1.41"), 0);
  EXPECT_GT(compare_api_versions("1.43", "1.41"), 0);
  EXPECT_EQ(compare_api_versions("1.41", "1.41"), 0);
  EXPECT_GT(compare_api_versions("2.0", "1.99"), 0);
}

TEST(EngineErrors, CarryTheDaemonsMessageAndMapTheStatus) {
  auto expect = [](unsigned status, Errc code) {
    try {
      throw_engine_error("unix:///s", "start sandbox x", status, R"({"message":"No such container: x"})");
    } catch (const Error& e) {
      EXPECT_EQ(e.code(), code) << status;
      EXPECT_EQ(std::string(e.what()),
                "docker (unix:///s): start sandbox x: No such container: x (HTTP " + std::to_string(status) + ")");
    }
  };
  expect(400, Errc::invalid_argument);
  expect(403, Errc::permission_denied);
  expect(404, Errc::not_found);
  expect(409, Errc::state);
  expect(500, Errc::backend);
  EXPECT_EQ(engine_message("plain text\n"), "plain text");
  EXPECT_EQ(engine_message(""), "(no message)");
}

TEST(ImageReference, SplitsNameAndTag) {
  EXPECT_EQ(split_image_reference("busybox"), std::make_pair(std::string("busybox"), std::string("latest")));
  EXPECT_EQ(split_image_reference("busybox:1.36"), std::make_pair(std::string("busybox"), std::string("1.36")));
  EXPECT_EQ(split_image_reference("127.0.0.1:5000/a/b"),
            std::make_pair(std::string("127.0.0.1:5000/a/b"), std::string("latest")));
  EXPECT_EQ(split_image_reference("127.0.0.1:5000/a/b:v2"),
            std::make_pair(std::string("127.0.0.1:5000/a/b"), std::string("v2")));
  EXPECT_EQ(split_image_reference("a@sha256:00").second, "");
}

}  // namespace
}  // namespace hutch::docker
