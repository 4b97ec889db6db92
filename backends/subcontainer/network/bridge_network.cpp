#include "bridge_network.hpp"

#include "file_lock.hpp"
#include "forwarding.hpp"
#include "netlink.hpp"
#include "netns_thread.hpp"
#include "egress_names.hpp"
#include "nftables.hpp"
#include "resolver_policies.hpp"

#include <hutch/error.hpp>

namespace hutch::subcontainer::network {
namespace {

// The sandbox's end of its veth pair, in its own namespace.
constexpr const char* kSandboxLink = "eth0";

// Deletes a host link on scope exit unless dismissed: a half-made attach leaves none.
class LinkRollback {
 public:
  LinkRollback(NetlinkSocket& netlink, std::string name) : netlink_(netlink), name_(std::move(name)) {}
  ~LinkRollback() {
    if (dismissed_) return;
    try {
      netlink_.delete_link(name_);
    } catch (...) {
      // The sandbox's namespace going away deletes the pair as well.
    }
  }
  void dismiss() { dismissed_ = true; }

 private:
  NetlinkSocket& netlink_;
  std::string name_;
  bool dismissed_ = false;
};

}  // namespace

BridgeNetwork::BridgeNetwork(BridgeSettings settings, const std::filesystem::path& state_root)
    : settings_(std::move(settings)), leases_dir_(state_root / "network" / "leases") {
  firewall_.table = instance_table_name(state_root);
  firewall_.bridge = settings_.bridge;
  firewall_.subnet = settings_.subnet;
  firewall_.label = instance_label(state_root);
}

SandboxFirewall BridgeNetwork::sandbox_firewall(const std::string& id, std::uint32_t address) const {
  return {firewall_.table, id, host_link(id), address};
}

void BridgeNetwork::install_sandbox_rules(Nftables& nft, const Allocation& lease, const std::string& id,
                                          const std::vector<EgressRule>& egress) const {
  const SandboxFirewall sandbox = sandbox_firewall(id, lease.address);
  if (!lease.fresh) {
    // An earlier start of this sandbox: its entries may be there, sets included.
    if (!table_exists(nft, firewall_.table)) install(nft, firewall_);
    install(nft, sandbox, egress);
    return;
  }
  // A new lease has no entries to replace. Each nft run fills libnftables' cache from the
  // kernel first, the largest part of its cost: one run, with the table when this is the
  // first lease (the table exists while any lease does).
  if (lease.others == 0) {
    nft.run(instance_ruleset(firewall_) + sandbox_ruleset(sandbox, egress),
            "install table inet " + firewall_.table + " and the rules of sandbox " + id);
    return;
  }
  try {
    nft.run(sandbox_ruleset(sandbox, egress), "install the egress rules of sandbox " + id);
  } catch (const Error&) {
    // The table went while leases remained (a crash between the first lease and its table,
    // or an administrator's flush): make it again, else the error stands.
    if (table_exists(nft, firewall_.table)) throw;
    nft.run(instance_ruleset(firewall_) + sandbox_ruleset(sandbox, egress),
            "install table inet " + firewall_.table + " and the rules of sandbox " + id);
  }
}

std::uint32_t BridgeNetwork::attach(const std::string& id, pid_t leader, const std::vector<EgressRule>& egress) {
  AddressLeases leases(leases_dir_, settings_.subnet);
  const FileLock lock(leases.lock_path());
  const Allocation lease = leases.allocate(id);
  const bool held_before = !lease.fresh;
  const std::uint32_t address = lease.address;
  try {
    NetlinkSocket netlink;
    netlink.ensure_bridge(settings_.bridge, {leases.gateway(), settings_.subnet.prefix});
    enable_ipv4_forwarding();
    const std::string host = host_link(id);
    // What is left of the pair of an earlier start of this sandbox.
    netlink.delete_link(host);
    const UniqueFd sandbox_net = open_network_namespace(leader);
    netlink.add_veth(host, kSandboxLink, leader);
    LinkRollback rollback(netlink, host);
    // Before the port joins the bridge: no packet of the sandbox's passes without its rules.
    Nftables nft;
    install_sandbox_rules(nft, lease, id, egress);
    write_policy(policies_dir(), address, {id, egress});
    ensure_resolver();
    netlink.attach_to_bridge(host, settings_.bridge);
    const Ipv4Cidr own{address, settings_.subnet.prefix};
    const std::uint32_t gateway = leases.gateway();
    run_in_network_namespace(sandbox_net.get(), [&] {
      NetlinkSocket inside;
      inside.add_address(kSandboxLink, own);
      inside.add_default_route(kSandboxLink, gateway);
    });
    rollback.dismiss();
    return address;
  } catch (const Error& e) {
    if (!held_before) release_locked(id);
    throw Error(e.code(), "sandbox " + id + ": bridge network " + settings_.bridge + ": " + e.what());
  }
}

void BridgeNetwork::replace_egress(const std::string& id, const std::vector<EgressRule>& egress) {
  const std::string where = "sandbox " + id + ": bridge network " + settings_.bridge + ": ";
  std::error_code missing;
  if (!std::filesystem::exists(leases_dir_, missing)) throw Error(Errc::state, where + "it holds no address");
  AddressLeases leases(leases_dir_, settings_.subnet);
  // Against a release or reclaim of the same lease meanwhile.
  const FileLock lock(leases.lock_path());
  const auto address = leases.find(id);
  if (!address) throw Error(Errc::state, where + "it holds no address");
  try {
    Nftables nft;
    network::replace_egress(nft, sandbox_firewall(id, *address), egress);
    write_policy(policies_dir(), *address, {id, egress});
  } catch (const Error& e) {
    throw Error(e.code(), where + e.what());
  }
}

std::optional<std::uint32_t> BridgeNetwork::address_of(const std::string& id) const {
  std::error_code missing;
  if (!std::filesystem::exists(leases_dir_, missing)) return std::nullopt;
  return AddressLeases(leases_dir_, settings_.subnet).find(id);
}

std::string BridgeNetwork::detach(const std::string& id) noexcept {
  try {
    NetlinkSocket netlink;
    netlink.delete_link(host_link(id));
    return {};
  } catch (const std::exception& e) {
    return e.what();
  }
}

std::string BridgeNetwork::release(const std::string& id) noexcept {
  try {
    std::error_code missing;
    // No lease was ever taken on this state dir: nothing to do, and nothing to create.
    if (!std::filesystem::exists(leases_dir_, missing)) return {};
    AddressLeases leases(leases_dir_, settings_.subnet);
    const FileLock lock(leases.lock_path());
    if (!leases.find(id)) return {};
    return release_locked(id);
  } catch (const std::exception& e) {
    return e.what();
  }
}

std::string BridgeNetwork::release_locked(const std::string& id) noexcept {
  std::string failure = detach(id);
  AddressLeases leases(leases_dir_, settings_.subnet);
  try {
    Nftables nft;
    if (const auto address = leases.find(id); address && table_exists(nft, firewall_.table))
      remove(nft, sandbox_firewall(id, *address));
  } catch (const std::exception& e) {
    failure += (failure.empty() ? "" : "; ") + std::string(e.what());
  }
  if (const auto address = leases.find(id)) remove_policy(policies_dir(), *address);
  leases.release(id);
  try {
    remove_shared_objects_if_unused();
  } catch (const std::exception& e) {
    failure += (failure.empty() ? "" : "; ") + std::string(e.what());
  }
  return failure;
}

void BridgeNetwork::ensure_resolver() const {
  resolver().ensure_running(
      {settings_.resolver, format_ipv4(gateway()), firewall_.table, policies_dir(), settings_.upstream_dns});
}

void BridgeNetwork::remove_shared_objects_if_unused() {
  if (!AddressLeases(leases_dir_, settings_.subnet).all().empty()) return;
  // First: it serves on the bridge's address and fills the table's sets.
  if (auto failure = resolver().stop(); !failure.empty()) throw Error(Errc::backend, failure);
  Nftables nft;
  remove_table(nft, firewall_.table);
  NetlinkSocket netlink;
  netlink.delete_link(settings_.bridge);
}

std::vector<std::string> BridgeNetwork::reclaim(const std::function<bool(const std::string& id)>& sandbox_exists) {
  std::vector<std::string> reclaimed;
  std::error_code missing;
  if (!std::filesystem::exists(leases_dir_, missing)) return reclaimed;
  AddressLeases leases(leases_dir_, settings_.subnet);
  const FileLock lock(leases.lock_path());
  for (const auto& lease : leases.all()) {
    if (!lease.sandbox_id.empty() && sandbox_exists(lease.sandbox_id)) continue;
    if (lease.sandbox_id.empty()) {
      // Unreadable: no sandbox can claim it.
      std::error_code ignored;
      std::filesystem::remove(leases_dir_ / format_ipv4(lease.address), ignored);
    } else {
      release_locked(lease.sandbox_id);
    }
    reclaimed.push_back(lease.sandbox_id);
  }
  // A crash between the last lease's removal and the table's leaves the table alone.
  remove_shared_objects_if_unused();
  // The sandboxes left keep their names (the resolver may have been killed meanwhile). A
  // resolver that cannot start fails no prune: the next attach tries again and says why.
  try {
    Nftables nft;
    if (!leases.all().empty() && table_exists(nft, firewall_.table)) ensure_resolver();
  } catch (const Error&) {
  }
  return reclaimed;
}

}  // namespace hutch::subcontainer::network
