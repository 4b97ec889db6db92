// Published ports: the --publish syntax, the checks every front end and backend shares, how a
// binding is shown, and the spec's JSON form of them (integers stay readable by older readers).
#include <hutch/error.hpp>
#include <hutch/ports.hpp>
#include <hutch/spec_json.hpp>
#include <hutch/untrusted_spec.hpp>

#include <gtest/gtest.h>

#include <string>

namespace hutch {
namespace {

std::string invalid_message(const std::string& text) {
  try {
    parse_port_mapping(text);
  } catch (const Error& error) {
    EXPECT_EQ(error.code(), Errc::invalid_argument) << error.what();
    return error.what();
  }
  return "accepted";
}

TEST(PortMapping, ParsesEveryFormOfPublish) {
  EXPECT_EQ(parse_port_mapping("80"), (PortMapping{"127.0.0.1", 0, 80, PortProtocol::tcp}));
  EXPECT_EQ(parse_port_mapping("8080:80"), (PortMapping{"127.0.0.1", 8080, 80, PortProtocol::tcp}));
  EXPECT_EQ(parse_port_mapping("0:80/tcp"), (PortMapping{"127.0.0.1", 0, 80, PortProtocol::tcp}));
  EXPECT_EQ(parse_port_mapping("0.0.0.0:5353:53/udp"), (PortMapping{"0.0.0.0", 5353, 53, PortProtocol::udp}));
  EXPECT_EQ(parse_port_mapping("[::1]:8080:80"), (PortMapping{"::1", 8080, 80, PortProtocol::tcp}));
  EXPECT_EQ(parse_port_mapping("[::]:0:53/udp"), (PortMapping{"::", 0, 53, PortProtocol::udp}));
}

TEST(PortMapping, FormatIsTheInverseOfParse) {
  for (const char* text : {"127.0.0.1:0:80/tcp", "0.0.0.0:5353:53/udp", "[::1]:8080:80/tcp", "10.1.2.3:65535:1/udp"})
    EXPECT_EQ(format_port_mapping(parse_port_mapping(text)), text);
}

TEST(PortMapping, BadValuesAreNamedWithWhatIsWrong) {
  EXPECT_EQ(invalid_message("8080:0"), "'8080:0': SANDBOX_PORT '0' is not a port number from 1 to 65535");
  EXPECT_EQ(invalid_message("70000:80"), "'70000:80': HOST_PORT '70000' is not a port number from 0 to 65535");
  EXPECT_EQ(invalid_message("80/sctp"), "'80/sctp': protocol 'sctp' is not one of: tcp, udp");
  EXPECT_EQ(invalid_message("localhost:8080:80"),
            "'localhost:8080:80': HOST_IP 'localhost' is not an IPv4 or IPv6 address");
  EXPECT_EQ(invalid_message("300.1.1.1:8080:80"),
            "'300.1.1.1:8080:80': HOST_IP '300.1.1.1' is not an IPv4 or IPv6 address");
  EXPECT_EQ(invalid_message("::1:8080:80"),
            "'::1:8080:80' must look like [HOST_IP:]HOST_PORT:SANDBOX_PORT[/tcp|udp]; write an IPv6 host address "
            "in brackets: [::1]:8080:80");
  EXPECT_EQ(invalid_message("[127.0.0.1]:8080:80"), "'[127.0.0.1]:8080:80': '127.0.0.1' in brackets is not an IPv6 address");
  EXPECT_EQ(invalid_message("web"), "'web': SANDBOX_PORT 'web' is not a port number from 1 to 65535");
  EXPECT_EQ(invalid_message(""), "'': SANDBOX_PORT '' is not a port number from 1 to 65535");
}

TEST(PortMapping, ValidateRefusesTheSameHostPortTwiceButNotTwoAddresses) {
  const PortMapping loopback{"127.0.0.1", 8080, 80};
  EXPECT_NO_THROW(validate_ports({loopback, PortMapping{"127.0.0.2", 8080, 81}}, NetworkMode::bridge));
  EXPECT_NO_THROW(validate_ports({loopback, PortMapping{"127.0.0.1", 8080, 80, PortProtocol::udp}}, NetworkMode::bridge));
  // Two free ports, and one sandbox port on two host ports, are fine.
  EXPECT_NO_THROW(validate_ports({PortMapping{.sandbox_port = 80}, PortMapping{.sandbox_port = 80}}, NetworkMode::bridge));
  EXPECT_THROW(validate_ports({loopback, loopback}, NetworkMode::bridge), Error);
  EXPECT_THROW(validate_ports({PortMapping{"::", 8080, 80}, loopback}, NetworkMode::bridge), Error);
  EXPECT_THROW(validate_ports({PortMapping{.host_ip = "nowhere", .sandbox_port = 80}}, NetworkMode::bridge), Error);
  EXPECT_THROW(validate_ports({PortMapping{.sandbox_port = 0}}, NetworkMode::bridge), Error);
  EXPECT_THROW(validate_ports({loopback}, NetworkMode::host), Error);
  EXPECT_NO_THROW(validate_ports({}, NetworkMode::none));
}

TEST(PortBinding, ShowsWhereToConnectAndAnHttpUrl) {
  const PortBinding loopback{80, "127.0.0.1", 32768, PortProtocol::tcp};
  EXPECT_EQ(connect_address(loopback), "127.0.0.1:32768");
  EXPECT_EQ(http_url(loopback), "http://127.0.0.1:32768");
  EXPECT_EQ(describe(loopback), "127.0.0.1:32768->80/tcp");
  // A wildcard binding is reached through loopback.
  EXPECT_EQ(connect_address(PortBinding{80, "0.0.0.0", 8080, PortProtocol::tcp}), "127.0.0.1:8080");
  EXPECT_EQ(http_url(PortBinding{80, "::", 8080, PortProtocol::tcp}), "http://[::1]:8080");
  EXPECT_EQ(http_url(PortBinding{53, "127.0.0.1", 5353, PortProtocol::udp}), std::nullopt);
  EXPECT_TRUE(is_loopback_address("127.3.4.5"));
  EXPECT_TRUE(is_loopback_address("::1"));
  EXPECT_FALSE(is_loopback_address("10.0.0.1"));
  EXPECT_TRUE(is_wildcard_address("::"));
  EXPECT_FALSE(is_wildcard_address("127.0.0.1"));
}

// A mapping with only its sandbox port is written as the integer the API always took; the
// others as objects; both read back the same.
TEST(PortMapping, SpecJsonKeepsTheIntegerFormForPlainPorts) {
  SandboxSpec spec;
  spec.network = NetworkMode::bridge;
  spec.ports = {PortMapping{.sandbox_port = 80}, PortMapping{"0.0.0.0", 5353, 53, PortProtocol::udp}};
  const std::string text = spec_to_json(spec);
  EXPECT_NE(text.find(R"("ports":[80,{"host_ip":"0.0.0.0","host_port":5353,"sandbox_port":53,"protocol":"udp"}])"),
            std::string::npos)
      << text;
  EXPECT_EQ(spec_from_request_json(text).ports, spec.ports);
  EXPECT_EQ(spec_from_request_json(R"({"network":"bridge","ports":[{"sandbox_port":8080}]})").ports,
            std::vector<PortMapping>{PortMapping{.sandbox_port = 8080}});
}

// A client of the service may publish on the service host's loopback only: another address
// would open that host's network to its sandbox.
TEST(PortMapping, AnUntrustedClientMayPublishOnLoopbackOnly) {
  SandboxSpec spec;
  spec.network = NetworkMode::bridge;
  spec.ports = {PortMapping{.sandbox_port = 80}, PortMapping{"::1", 8080, 81}};
  EXPECT_NO_THROW(refuse_host_only_fields(spec));
  spec.ports.push_back(PortMapping{"0.0.0.0", 8081, 82});
  try {
    refuse_host_only_fields(spec);
    ADD_FAILURE() << "0.0.0.0 was accepted from an untrusted client";
  } catch (const Error& error) {
    EXPECT_EQ(error.code(), Errc::invalid_argument);
    EXPECT_EQ(std::string(error.what()),
              "ports[2].host_ip ('0.0.0.0') would publish on the host's network: only a local caller may; leave it out "
              "for 127.0.0.1");
  }
}

}  // namespace
}  // namespace hutch
