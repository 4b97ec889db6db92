// The fixture of the bridge network tests: a subcontainer backend as root with its bridge
// ("hutchtest0", 10.214.7.0/24: not the defaults, to check that the keys are honoured) and a
// fake internet (fake_internet.hpp), all inside the test process's own network namespace
// (main.cpp).
#pragma once

#include "address_leases.hpp"
#include "fake_internet.hpp"
#include "killed_subcontainer_creator.hpp"
#include "network/bridge_network.hpp"
#include "network/instance_firewall.hpp"
#include "network/netlink.hpp"
#include "nftables.hpp"
#include "runtime_fixture.hpp"
#include "sandbox_fetch.hpp"

#include <gtest/gtest.h>

#include <unistd.h>

#include <memory>
#include <string>
#include <vector>

namespace hutch::subcontainer::test {

// Not the default, to check that the keys are honoured.
constexpr const char* kBridge = "hutchtest0";
constexpr const char* kSubnet = "10.214.7.0/24";
constexpr const char* kGateway = "10.214.7.1";

class BridgeNetworkTest : public RuntimeTest {
 protected:
  void SetUp() override {
    HUTCH_NEED(::geteuid() == 0, "HUTCH_REQUIRE_NAMESPACES", "bridge networking needs root");
    RuntimeTest::SetUp();
    if (IsSkipped() || HasFatalFailure()) return;
    runtime_->config.bridge.bridge = kBridge;
    runtime_->config.bridge.subnet = *network::parse_ipv4_cidr(kSubnet);
    // Never the host's resolver: every name the sandboxes ask goes to the fake internet's.
    runtime_->config.bridge.upstream_dns = {kFakeDnsServer};
    runtime_->config.bridge.resolver = HUTCH_SUBCONTAINER_RESOLVER;
    runtime_->network = std::make_unique<network::BridgeNetwork>(runtime_->config.bridge, runtime_->config.state_root);
    internet_ = std::make_unique<FakeInternet>();
  }
  void TearDown() override {
    RuntimeTest::TearDown();
    internet_.reset();
  }

  std::shared_ptr<Handle> create_bridge_sandbox(std::vector<EgressRule> egress = {}) {
    SandboxSpec spec;
    spec.network = NetworkMode::bridge;
    spec.egress = std::move(egress);
    return backend_->create(spec);
  }

  // What a connection from the sandbox to address:port reads, or the shell's error.
  std::string fetch(Handle& sandbox, const std::string& address, std::uint16_t port = kServerPort) {
    return fetch_from(sandbox, address, port);
  }

  // A sandbox of `spec` made by a creator killed with SIGKILL (killed_subcontainer_creator.hpp).
  std::string create_in_a_killed_creator(const SandboxSpec& spec) {
    return test::create_in_a_killed_creator(runtime_->config, spec);
  }

  bool link_exists(const std::string& name) { return network::NetlinkSocket().link_index(name) != 0; }
  bool table_exists() {
    network::Nftables nft;
    return network::table_exists(nft, runtime_->network->table());
  }
  std::vector<network::Lease> leases() {
    return network::AddressLeases(runtime_->network->leases_dir(), runtime_->config.bridge.subnet).all();
  }
  // Nothing of the bridge network is left: no veth, no bridge, no table, no lease, no
  // resolver process nor policy file.
  void expect_no_network_left(const std::string& id) {
    EXPECT_EQ(runtime_->network->resolver().running(), std::nullopt) << "the DNS resolver still runs";
    EXPECT_FALSE(std::filesystem::exists(runtime_->network->resolver().pid_file())) << "the resolver's pid file is left";
    std::error_code none;
    EXPECT_TRUE(std::filesystem::is_empty(runtime_->network->policies_dir(), none) || none)
        << "a resolver policy file is left in " << runtime_->network->policies_dir();
    EXPECT_FALSE(link_exists(network::BridgeNetwork::host_link(id))) << "the host end of the veth pair is left";
    EXPECT_FALSE(link_exists(kBridge)) << "the bridge is left though no sandbox uses it";
    EXPECT_FALSE(table_exists()) << "the nftables table " << runtime_->network->table() << " is left";
    EXPECT_TRUE(leases().empty()) << "an address lease is left";
  }

  std::unique_ptr<FakeInternet> internet_;
};

}  // namespace hutch::subcontainer::test
