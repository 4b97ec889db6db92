// SandboxSpec <-> JSON (<hutch/spec_json.hpp>): what backends store so resume() and fork() get
// the spec a sandbox was created with.
#include <hutch/error.hpp>
#include <hutch/spec_json.hpp>

#include <gtest/gtest.h>

#include <chrono>

namespace hutch {
namespace {

TEST(SpecJson, RoundTrips) {
  SandboxSpec spec;
  spec.image = "busybox:latest";
  spec.env = {{"A", "1"}};
  spec.workdir = "/w";
  spec.user = "1000";
  spec.mounts = {Mount{MountType::tmpfs, "", "/t", true, MountKind::directory, "", IdMap{0, 1, 2}, 4096},
                 Mount{MountType::bind, "/src", "/dst", false, MountKind::file, "sub"}};
  spec.limits = Limits{1 << 20, 0.5, 10};
  spec.network = NetworkMode::bridge;
  spec.labels = {{"k", "v"}};
  spec.ttl = std::chrono::seconds(30);
  spec.idle_timeout = std::chrono::seconds(5);
  spec.read_only_root = true;
  spec.ports = {PortMapping{.sandbox_port = 80}, PortMapping{"::1", 8443, 443, PortProtocol::udp}};
  spec.egress = {{EgressAction::deny, "all"}, {EgressAction::allow, "2001:db8::/32"}};
  spec.detached = true;
  spec.ephemeral = true;
  EXPECT_EQ(spec_from_json(spec_to_json(spec)), spec);
  EXPECT_EQ(spec_from_json(spec_to_json(SandboxSpec{})), SandboxSpec{});
  EXPECT_THROW(spec_from_json("not json"), Error);
  EXPECT_EQ(spec_from_request_json(spec_to_json(spec)), spec);
}

// The service's reading of a spec from a request names the field a mistake is in.
TEST(SpecJson, RequestFormNamesTheWrongField) {
  auto message_of = [](const std::string& text) {
    try {
      spec_from_request_json(text);
    } catch (const Error& error) {
      EXPECT_EQ(error.code(), Errc::invalid_argument) << error.what();
      return std::string(error.what());
    }
    return std::string("no error");
  };
  EXPECT_EQ(message_of(R"({"env":{"A":1}})"), "field 'env.A': expected a string, got a number");
  EXPECT_EQ(message_of(R"({"mounts":[{"type":"tmpfs","target":5}]})"),
            "field 'mounts[0].target': expected a string, got a number");
  EXPECT_EQ(message_of(R"({"memory":"lots"})"), "field 'memory': expected a number or \"unlimited\"");
  EXPECT_EQ(message_of(R"({"pids":-1})"), "field 'pids': expected an integer from 0 to 4294967295, got -1");
  EXPECT_EQ(message_of(R"({"ports":[80, 70000]})"), "field 'ports[1]': expected an integer from 1 to 65535, got 70000");
  EXPECT_EQ(message_of(R"({"ports":[{"host_port":8080}]})"),
            "field 'ports[0].sandbox_port': missing: the port inside the sandbox (1 to 65535)");
  EXPECT_EQ(message_of(R"({"ports":[{"sandbox_port":80,"protocol":"sctp"}]})"),
            "field 'ports[0].protocol': protocol 'sctp' is not one of: tcp, udp");
  EXPECT_EQ(message_of(R"({"ports":[{"sandbox_port":80,"host":"x"}]})"), "field 'ports[0].host': unknown field");
  EXPECT_EQ(message_of(R"({"imgae":"x"})"), "field 'imgae': unknown field");
  EXPECT_EQ(message_of(R"({"network":"wide"})").rfind("field 'network': ", 0), 0u);
  EXPECT_EQ(message_of(R"({"egress":[{"action":"permit","destination":"all"}]})"),
            "field 'egress[0].action': egress action 'permit' is not one of: allow, deny");
  EXPECT_EQ(message_of(R"({"egress":[{"action":"deny","to":"all"}]})"), "field 'egress[0].to': unknown field");
  EXPECT_EQ(message_of(R"({"image":)").rfind("the spec is not valid JSON", 0), 0u);
  SandboxSpec unlimited = spec_from_request_json(R"({"memory":"unlimited","ttl_ms":5000})");
  EXPECT_TRUE(unlimited.limits.memory_unlimited);
  EXPECT_EQ(unlimited.ttl, std::chrono::milliseconds(5000));
}

// The "egress" field alone (the service's PATCH, the remote backend's Handle::set_egress):
// written and read as in a spec, its mistakes named as there.
TEST(SpecJson, EgressAloneIsTheSpecsField) {
  const std::vector<EgressRule> rules{{EgressAction::allow, "198.18.0.0/15"}, {EgressAction::deny, "all"}};
  EXPECT_EQ(egress_to_json(rules), R"([{"action":"allow","destination":"198.18.0.0/15"},{"action":"deny","destination":"all"}])");
  EXPECT_EQ(egress_from_request_json(egress_to_json(rules)), rules);
  EXPECT_TRUE(egress_from_request_json("[]").empty());
  auto message_of = [](const std::string& text) {
    try {
      egress_from_request_json(text);
    } catch (const Error& error) {
      EXPECT_EQ(error.code(), Errc::invalid_argument) << text;
      return std::string(error.what());
    }
    return std::string("no error");
  };
  EXPECT_EQ(message_of(R"({"action":"deny"})"), "field 'egress': expected an array, got an object");
  EXPECT_EQ(message_of(R"([{"action":"permit","destination":"all"}])"),
            "field 'egress[0].action': egress action 'permit' is not one of: allow, deny");
  EXPECT_EQ(message_of(R"([{"action":"deny","destination":"all","port":80}])"), "field 'egress[0].port': unknown field");
  EXPECT_EQ(message_of("[").rfind("field 'egress': not valid JSON", 0), 0u);
}

}  // namespace
}  // namespace hutch
