// SandboxSpec -> POST /containers/create body.
#include "create_body.hpp"

#include <hutch/error.hpp>

#include <boost/json.hpp>
#include <gtest/gtest.h>

namespace hutch::docker {
namespace {
namespace json = boost::json;

CreatePlan base_plan() {
  CreatePlan plan;
  plan.image = "busybox:latest";
  plan.labels = {{"hutch.managed", "true"}, {"hutch.id", "hutch-1"}};
  return plan;
}

const json::object& host_config(const json::object& body) { return body.at("HostConfig").as_object(); }

TEST(CreateBody, SafeDefaults) {
  auto body = make_create_body(base_plan());
  const auto& host = host_config(body);
  EXPECT_EQ(body.at("Image").as_string(), "busybox:latest");
  EXPECT_EQ(host.at("NetworkMode").as_string(), "none");
  EXPECT_TRUE(body.at("NetworkDisabled").as_bool());
  EXPECT_EQ(host.at("CapDrop"), (json::array{"ALL"}));
  EXPECT_TRUE(host.at("CapAdd").as_array().empty());
  EXPECT_EQ(host.at("SecurityOpt"), (json::array{"no-new-privileges"}));
  EXPECT_TRUE(host.at("Init").as_bool());
  EXPECT_FALSE(host.contains("ReadonlyRootfs"));
  EXPECT_FALSE(host.contains("Memory"));
  EXPECT_FALSE(host.contains("PortBindings"));
  EXPECT_FALSE(body.contains("User"));
  EXPECT_FALSE(body.contains("WorkingDir"));
  // PID 1 is docker-init running the keep-alive loop.
  json::array entrypoint;
  for (const auto& arg : kKeepAliveCommand) entrypoint.emplace_back(arg);
  EXPECT_EQ(body.at("Entrypoint"), entrypoint);
  EXPECT_EQ(body.at("Labels").at("hutch.id").as_string(), "hutch-1");
}

TEST(CreateBody, MapsEveryField) {
  CreatePlan plan = base_plan();
  plan.spec.workdir = "/work";
  plan.spec.user = "1000:1000";
  plan.env = {{"A", "1"}, {"B", "x=y"}};
  plan.spec.limits.memory_bytes = 256u << 20;
  plan.spec.limits.cpus = 1.5;
  plan.spec.limits.pids = 64;
  plan.spec.network = NetworkMode::bridge;
  plan.spec.read_only_root = true;
  plan.spec.ports = {PortMapping{.sandbox_port = 8080}, PortMapping{.sandbox_port = 9000},
                     PortMapping{"0.0.0.0", 5353, 53, PortProtocol::udp}, PortMapping{"::1", 8053, 53, PortProtocol::udp}};
  plan.cap_add = {"NET_BIND_SERVICE"};
  plan.seccomp_profile_json = R"({"defaultAction":"SCMP_ACT_ALLOW"})";
  plan.host_gateway = true;
  plan.workspace_volume = "hutch-ws-1";
  plan.spec.mounts = {
      Mount{MountType::volume, "data", "/data", false},
      Mount{MountType::bind, "/srv/in", "/in", true},
      Mount{MountType::tmpfs, "", "/scratch", false, MountKind::infer, "", std::nullopt, 1u << 20},
      Mount{MountType::assets, "/srv/assets", "/assets", false},
  };
  auto body = make_create_body(plan);
  const auto& host = host_config(body);
  EXPECT_EQ(body.at("WorkingDir").as_string(), "/work");
  EXPECT_EQ(body.at("User").as_string(), "1000:1000");
  EXPECT_EQ(body.at("Env"), (json::array{"A=1", "B=x=y"}));
  EXPECT_EQ(host.at("Memory").to_number<std::int64_t>(), 256 << 20);
  EXPECT_EQ(host.at("MemorySwap").to_number<std::int64_t>(), 256 << 20);
  EXPECT_EQ(host.at("NanoCpus").to_number<std::int64_t>(), 1'500'000'000);
  EXPECT_EQ(host.at("PidsLimit").to_number<std::int64_t>(), 64);
  EXPECT_EQ(host.at("NetworkMode").as_string(), "bridge");
  EXPECT_FALSE(body.at("NetworkDisabled").as_bool());
  EXPECT_TRUE(host.at("ReadonlyRootfs").as_bool());
  const auto& tmpfs = host.at("Tmpfs").as_object();
  EXPECT_TRUE(tmpfs.contains("/tmp"));
  EXPECT_TRUE(tmpfs.contains("/run"));
  EXPECT_TRUE(tmpfs.contains("/var/tmp"));
  EXPECT_EQ(host.at("CapAdd"), (json::array{"NET_BIND_SERVICE"}));
  EXPECT_EQ(host.at("SecurityOpt"),
            (json::array{"no-new-privileges", R"(seccomp={"defaultAction":"SCMP_ACT_ALLOW"})"}));
  EXPECT_EQ(host.at("ExtraHosts"), (json::array{"host.docker.internal:host-gateway"}));
  const auto& bindings = host.at("PortBindings").as_object();
  ASSERT_TRUE(bindings.contains("8080/tcp"));
  EXPECT_EQ(bindings.at("8080/tcp").as_array().at(0).at("HostIp").as_string(), "127.0.0.1");
  EXPECT_EQ(bindings.at("8080/tcp").as_array().at(0).at("HostPort").as_string(), "");
  EXPECT_TRUE(body.at("ExposedPorts").as_object().contains("9000/tcp"));
  // One key per sandbox port and protocol; its host bindings in the spec's order.
  EXPECT_TRUE(body.at("ExposedPorts").as_object().contains("53/udp"));
  EXPECT_EQ(bindings.at("53/udp"), (json::array{json::object{{"HostIp", "0.0.0.0"}, {"HostPort", "5353"}},
                                                json::object{{"HostIp", "::1"}, {"HostPort", "8053"}}}));

  const auto& mounts = host.at("Mounts").as_array();
  ASSERT_EQ(mounts.size(), 5u);
  EXPECT_EQ(mounts[0].at("Type").as_string(), "volume");
  EXPECT_EQ(mounts[0].at("Source").as_string(), "data");
  EXPECT_EQ(mounts[1].at("Type").as_string(), "bind");
  EXPECT_TRUE(mounts[1].at("ReadOnly").as_bool());
  EXPECT_EQ(mounts[2].at("Type").as_string(), "tmpfs");
  EXPECT_EQ(mounts[2].at("TmpfsOptions").at("SizeBytes").to_number<std::int64_t>(), 1 << 20);
  // Explicit: Podman takes a missing Mode as 0 (a mount nobody can use).
  EXPECT_EQ(mounts[2].at("TmpfsOptions").at("Mode").to_number<std::int64_t>(), 01777);
  EXPECT_EQ(mounts[3].at("Type").as_string(), "bind");
  EXPECT_TRUE(mounts[3].at("ReadOnly").as_bool()) << "assets are always read-only";
  EXPECT_EQ(mounts[4].at("Source").as_string(), "hutch-ws-1");
  EXPECT_EQ(mounts[4].at("Target").as_string(), kWorkspaceTarget);
}

TEST(CreateBody, MaxFileBytesIsAnFsizeUlimitSentWithTheEnginesDefaults) {
  CreatePlan plan = base_plan();
  plan.spec.max_file_bytes = 4096;
  EXPECT_EQ(host_config(make_create_body(plan)).at("Ulimits"),
            (json::array{json::object{{"Name", "fsize"}, {"Soft", 4096}, {"Hard", 4096}}}));
  // Podman's defaults go along; an fsize among them yields to the spec's.
  plan.default_ulimits = {{"nofile", 4096, 8192}, {"fsize", -1, -1}, {"nproc", 100, 100}};
  EXPECT_EQ(host_config(make_create_body(plan)).at("Ulimits"),
            (json::array{json::object{{"Name", "fsize"}, {"Soft", 4096}, {"Hard", 4096}},
                         json::object{{"Name", "nofile"}, {"Soft", 4096}, {"Hard", 8192}},
                         json::object{{"Name", "nproc"}, {"Soft", 100}, {"Hard", 100}}}));
  // Without a spec limit no Ulimits at all: the engine applies its defaults itself.
  plan.spec.max_file_bytes.reset();
  EXPECT_FALSE(host_config(make_create_body(plan)).contains("Ulimits"));
}

TEST(CreateBody, ASpecMountReplacesTheReadOnlyTmpfs) {
  CreatePlan plan = base_plan();
  plan.spec.read_only_root = true;
  plan.spec.mounts = {Mount{MountType::volume, "t", "/tmp", false}};
  auto body = make_create_body(plan);
  EXPECT_FALSE(host_config(body).at("Tmpfs").as_object().contains("/tmp"));
}

TEST(CreateBody, RefusesWhatDockerCannotExpress) {
  auto expect_refused = [](CreatePlan plan, const std::string& needle) {
    try {
      make_create_body(plan);
      ADD_FAILURE() << "accepted; expected a refusal mentioning " << needle;
    } catch (const Error& e) {
      EXPECT_EQ(e.code(), Errc::invalid_argument);
      EXPECT_NE(std::string(e.what()).find(needle), std::string::npos) << e.what();
    }
  };
  CreatePlan ports = base_plan();
  ports.spec.ports = {PortMapping{.sandbox_port = 80}};
  expect_refused(ports, "bridge");
  CreatePlan idmap = base_plan();
  idmap.spec.mounts = {Mount{MountType::volume, "v", "/v", false, MountKind::infer, "", IdMap{0, 1000, 1}}};
  expect_refused(idmap, "id-mapped");
  CreatePlan backup = base_plan();
  backup.spec.mounts = {Mount{MountType::backup, "b", "/b", false}};
  expect_refused(backup, "backup");
}

// Egress rules without hutch's network (egress_network.hpp) cannot be enforced: refused,
// never silently ignored.
TEST(CreateBody, RefusesEgressRulesOffHutchsNetwork) {
  CreatePlan plan = base_plan();
  plan.spec.network = NetworkMode::bridge;
  plan.spec.egress = {{EgressAction::deny, "all"}};
  try {
    make_create_body(plan);
    ADD_FAILURE() << "egress rules were accepted";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), Errc::unsupported) << e.what();
    EXPECT_NE(std::string(e.what()).find("egress"), std::string::npos) << e.what();
  }
}

// On hutch's network: its name as the network mode, the leased address fixed before the
// container exists, and the resolver on the gateway as the only DNS server.
TEST(CreateBody, PutsABridgeSandboxWithAnEgressPlanOnHutchsNetwork) {
  CreatePlan plan = base_plan();
  plan.spec.network = NetworkMode::bridge;
  plan.spec.egress = {{EgressAction::deny, "all"}};
  plan.egress = EgressPlan{"hutch_0a1b2c3d", "10.214.0.2", "10.214.0.1"};
  const auto body = make_create_body(plan);
  const auto& host = body.at("HostConfig").as_object();
  EXPECT_EQ(host.at("NetworkMode").as_string(), "hutch_0a1b2c3d");
  EXPECT_EQ(boost::json::serialize(host.at("Dns")), R"(["10.214.0.1"])");
  EXPECT_EQ(body.at("NetworkingConfig").at("EndpointsConfig").at("hutch_0a1b2c3d").at("IPAMConfig").at("IPv4Address").as_string(),
            "10.214.0.2");
  EXPECT_FALSE(body.at("NetworkDisabled").as_bool());
}

}  // namespace
}  // namespace hutch::docker
