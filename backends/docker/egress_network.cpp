#include "egress_network.hpp"

#include "engine_cgroups.hpp"
#include "labels.hpp"

#include "egress_policy.hpp"
#include "file_lock.hpp"
#include "ipv4.hpp"
#include "stable_hash.hpp"
#include "nftables.hpp"
#include "resolver_policies.hpp"

#include <hutch/error.hpp>

#include <boost/dll/runtime_symbol_info.hpp>
#include <boost/json.hpp>

#include <unistd.h>

#include <chrono>

namespace hutch::docker {
namespace json = boost::json;
using namespace hutch::egress;

namespace {

std::string statements(const std::vector<std::string>& lines) {
  std::string out;
  for (const auto& line : lines) out += "    " + line + "\n";
  return out;
}

std::filesystem::path resolver_path(const DockerConfig& config) {
  if (config.resolver) return *config.resolver;
  return std::filesystem::path(boost::dll::this_line_location().parent_path().string()) / "hutch-resolver";
}

}  // namespace

std::optional<std::string> egress_enforcement_problem(const Context& context) {
  if (!context.engine_is_local)
    return "the engine is not on this host (" + context.client->endpoint_name() +
           "): hutch cannot put firewall rules in its network namespace";
  if (::geteuid() != 0) return "hutch does not run as root: it cannot change the host's nftables rules";
  if (context.engine_may_be_rootless)
    return "the engine may be rootless (its socket is not root's): its containers' network is not the host's";
  return std::nullopt;
}

EgressNetwork::EgressNetwork(Context& context) : context_(context) {
  table_ = instance_table_name(context_.state_dir);
  network_ = table_;                    // hutch_<8 hex>
  bridge_ = "hd" + table_.substr(6);   // hd<8 hex>: within IFNAMSIZ
  subnet_ = context_.config.egress_subnet.value_or(
      Ipv4Cidr{(10u << 24) | (214u << 16) | ((stable_hash(table_) & 0xffu) << 8), 24});
}

std::filesystem::path EgressNetwork::dir() const { return context_.state_dir / "network"; }

std::string EgressNetwork::gateway() const { return format_ipv4(subnet_.network() + 1); }

EgressChain EgressNetwork::chain(const std::string& id, std::uint32_t address) const { return {table_, id, address}; }

void EgressNetwork::ensure_engine_network() {
  Request inspect;
  inspect.target = "/networks/" + network_;
  inspect.what = "inspect network " + network_;
  try {
    context_.client->call(inspect);
    return;
  } catch (const Error& e) {
    if (e.code() != Errc::not_found) throw;
  }
  const std::string subnet = format_cidr(subnet_);
  json::object body{
      {"Name", network_},
      {"Driver", "bridge"},
      {"CheckDuplicate", true},
      {"Labels", json::object{{kLabelManaged, "true"}, {"hutch.egress-state", context_.state_dir.string()}}},
      {"IPAM", json::object{{"Driver", "default"},
                            {"Config", json::array{json::object{{"Subnet", subnet}, {"Gateway", gateway()}}}}}},
      // The bridge's name, so that people and prune see whose it is (both engines take it);
      // no traffic between its containers (Docker drops it in its own chains; the table's
      // forward chain rejects it too, whatever a sandbox's rules allow).
      {"Options", json::object{{"com.docker.network.bridge.name", bridge_},
                               {"com.docker.network.bridge.enable_icc", "false"}}},
  };
  Request create;
  create.method = Method::post;
  create.target = "/networks/create";
  create.body = json::serialize(body);
  create.what = "create network " + network_ + " (" + subnet + ", egress_subnet in [backends.docker]) for bridge sandboxes";
  try {
    context_.client->call(create);
  } catch (const Error&) {
    // Another process made it meanwhile: fine when it is there now.
    context_.client->call(inspect);
  }
}

void EgressNetwork::ensure_table() {
  Nftables nft;
  try {
    nft.run("list table inet " + table_ + "\n", "list table inet " + table_);
    return;
  } catch (const Error&) {
  }
  const std::string from = "ip saddr " + format_cidr(subnet_);
  const std::string table = "inet " + table_;
  // Keyed on the source address: the engine makes the bridge and the veths, hutch cannot name
  // them before the container runs. Sandboxes have no CAP_NET_RAW (CapDrop ALL) to forge one.
  nft.run("add table " + table + "\n" + "delete table " + table + "\n" +
              "table " + table + " {\n" +
              "  comment " + nft_quoted(instance_label(context_.state_dir)) + "\n" + policy_declarations() +
              "  chain forward {\n" +
              "    type filter hook forward priority filter; policy accept;\n" +
              // Sandbox to sandbox: never, whatever their rules say (Docker bridges them, and
              // br_netfilter shows the bridged packets to this hook).
              "    " + from + " ip daddr " + format_cidr(subnet_) + " reject with icmp type admin-prohibited\n" +
              statements(forward_policy(from, false)) +
              "  }\n" +
              "  chain input {\n" +
              "    type filter hook input priority filter; policy accept;\n" + statements(input_policy(from, gateway())) +
              "  }\n" +
              "}\n",
          "install table " + table + " for network " + network_);
}

void EgressNetwork::ensure_resolver() {
  ResolverProcess(dir()).ensure_running(
      {resolver_path(context_.config), gateway(), table_, dir() / "dns", context_.config.upstream_dns});
}

std::string EgressNetwork::attach(const std::string& id, const std::vector<EgressRule>& rules) {
  AddressLeases leases(dir() / "leases", subnet_);
  const FileLock lock(leases.lock_path());
  const Allocation lease = leases.allocate(id);
  const bool held_before = !lease.fresh;
  const std::uint32_t address = lease.address;
  try {
    ensure_engine_network();
    ensure_table();
    Nftables nft;
    egress::replace_egress(nft, chain(id, address), rules);
    write_policy(dir() / "dns", address, {id, rules});
    // After the network: the resolver listens on its gateway's address, which the engine puts
    // on the bridge (Podman when the first container starts: the resolver binds any address).
    ensure_resolver();
    return format_ipv4(address);
  } catch (const Error& e) {
    if (!held_before) release_locked(id);
    throw Error(e.code(), "sandbox " + id + ": egress network " + network_ + ": " + e.what());
  }
}

void EgressNetwork::replace_egress(const std::string& id, const std::vector<EgressRule>& rules) {
  const std::string where = "sandbox " + id + ": egress network " + network_ + ": ";
  AddressLeases leases(dir() / "leases", subnet_);
  const FileLock lock(leases.lock_path());
  const auto address = leases.find(id);
  if (!address) throw Error(Errc::state, where + "it holds no address");
  try {
    Nftables nft;
    egress::replace_egress(nft, chain(id, *address), rules);
    write_policy(dir() / "dns", *address, {id, rules});
  } catch (const Error& e) {
    throw Error(e.code(), where + e.what());
  }
}

std::string EgressNetwork::release(const std::string& id) noexcept {
  try {
    std::error_code missing;
    if (!std::filesystem::exists(dir() / "leases", missing)) return {};
    AddressLeases leases(dir() / "leases", subnet_);
    const FileLock lock(leases.lock_path());
    if (!leases.find(id)) return {};
    return release_locked(id);
  } catch (const std::exception& e) {
    return e.what();
  }
}

std::string EgressNetwork::release_locked(const std::string& id) noexcept {
  std::string failure;
  AddressLeases leases(dir() / "leases", subnet_);
  const auto address = leases.find(id);
  try {
    Nftables nft;
    if (address) remove_egress(nft, chain(id, *address));
  } catch (const std::exception&) {
    // No table (removed by hand): nothing of the sandbox's is left in it either.
  }
  if (address) remove_policy(dir() / "dns", *address);
  leases.release(id);
  try {
    remove_shared_objects_if_unused();
  } catch (const std::exception& e) {
    failure = e.what();
  }
  return failure;
}

void EgressNetwork::remove_shared_objects_if_unused() {
  if (!AddressLeases(dir() / "leases", subnet_).all().empty()) return;
  if (auto failure = ResolverProcess(dir()).stop(); !failure.empty()) throw Error(Errc::backend, failure);
  Nftables nft;
  nft.run("add table inet " + table_ + "\ndelete table inet " + table_ + "\n", "delete table inet " + table_);
  Request remove;
  remove.method = Method::delete_;
  remove.target = "/networks/" + network_;
  remove.what = "remove network " + network_;
  try {
    context_.client->call(remove);
  } catch (const Error& e) {
    if (e.code() != Errc::not_found) throw;
  }
}

std::vector<std::string> EgressNetwork::reclaim(const std::function<bool(const std::string& id)>& exists) {
  std::vector<std::string> reclaimed;
  std::error_code missing;
  if (!std::filesystem::exists(dir() / "leases", missing)) return reclaimed;
  AddressLeases leases(dir() / "leases", subnet_);
  const FileLock lock(leases.lock_path());
  // A lease is taken before its container is made: one younger than this may be a create in
  // progress in another process.
  constexpr auto kCreateGrace = std::chrono::minutes(1);
  for (const auto& lease : leases.all()) {
    if (!lease.sandbox_id.empty() && exists(lease.sandbox_id)) continue;
    std::error_code error;
    const auto taken = std::filesystem::last_write_time(dir() / "leases" / format_ipv4(lease.address), error);
    if (!error && std::filesystem::file_time_type::clock::now() - taken < kCreateGrace) continue;
    release_locked(lease.sandbox_id);
    reclaimed.push_back(lease.sandbox_id);
  }
  remove_shared_objects_if_unused();
  if (!leases.all().empty()) {
    try {
      ensure_resolver();  // killed meanwhile: the sandboxes left keep their names
    } catch (const Error&) {
    }
  }
  return reclaimed;
}

}  // namespace hutch::docker
