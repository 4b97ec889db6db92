// `--network bridge` for subcontainer sandboxes (root only): each sandbox gets a veth pair,
// one end (eth0) in its network namespace with an address of the bridge subnet and a default
// route through the bridge, the other (hv<sandbox id>) a port of the bridge on the host. The
// instance's nftables table (instance_firewall.hpp) masquerades the subnet's outbound traffic
// and holds the default egress policy. Names go through the instance's resolver
// (resolver_process.hpp) on the bridge's address, which the sandboxes' /etc/resolv.conf names,
// and which answers each sandbox by its rules (resolver_policies.hpp).
//
// Who owns what: the address lease (address_leases.hpp) belongs to the sandbox from attach to
// release; the veth pair lives while the sandbox's network namespace does, and release (or
// the next attach) deletes what is left of it; the bridge, the table and the resolver exist
// while any lease does — the first attach makes them, the release of the last lease removes
// them. A sandbox's policy file for the resolver lives with its lease. Every change
// holds the lease directory's lock, so concurrent hutch processes on one state dir agree. A
// hutch killed in the middle leaves a lease whose sandbox is gone, which reclaim() frees with
// the rest (prune).
#pragma once

#include "egress_names.hpp"
#include "address_leases.hpp"
#include "instance_firewall.hpp"
#include "resolver_process.hpp"
#include "sandbox_firewall.hpp"

#include <hutch/types.hpp>

#include <sys/types.h>

#include <filesystem>
#include <functional>
#include <string>
#include <vector>

namespace hutch::subcontainer::network {

struct BridgeSettings {
  std::string bridge = "hutch0";
  // Not docker's 172.17.0.0/16 nor podman's 10.88.0.0/16.
  Ipv4Cidr subnet{(10u << 24) | (213u << 16), 16};
  // Where the resolver forwards the names it answers (upstream_dns; by default the
  // nameservers of the host's /etc/resolv.conf), and its executable (resolver).
  std::vector<std::string> upstream_dns;
  std::filesystem::path resolver;
};

class BridgeNetwork {
 public:
  // Touches nothing yet; `state_root` is the backend's state dir (leases under
  // <state_root>/network/leases, the table named after it).
  BridgeNetwork(BridgeSettings settings, const std::filesystem::path& state_root);

  const BridgeSettings& settings() const { return settings_; }
  const std::string& table() const { return firewall_.table; }
  std::filesystem::path leases_dir() const { return leases_dir_; }
  // The resolver's policy files (resolver_policies.hpp), and its process.
  std::filesystem::path policies_dir() const { return leases_dir_.parent_path() / "dns"; }
  ResolverProcess resolver() const { return ResolverProcess(leases_dir_.parent_path()); }
  // The bridge's own address: the sandboxes' gateway and resolver.
  std::uint32_t gateway() const { return settings_.subnet.network() + 1; }
  // The host end of sandbox `id`'s veth pair.
  static std::string host_link(const std::string& id) { return "hv" + id; }

  // Connects the network namespace of `leader` (the sandbox's PID 1, running) to the bridge
  // with the address sandbox `id` holds, taking one first if it holds none; makes the bridge
  // and the tables when they are missing, and starts the resolver when it does not run;
  // installs the sandbox's `egress` rules (validated, see EgressRule) ahead of the default
  // policy, and gives the resolver the same rules. Returns the address. On failure what this
  // call made is undone (a lease it took is released) and the error is thrown: Errc::state
  // when the subnet is full, Errc::backend for the kernel's refusals.
  std::uint32_t attach(const std::string& id, pid_t leader, const std::vector<EgressRule>& egress);
  // Replaces the egress rules of sandbox `id`, attached (running), with `egress` (validated) in
  // one transaction (sandbox_firewall.hpp, replace_egress), then the resolver's copy (new
  // lookups follow the new rules). Errc::state when it holds no address; Errc::backend for
  // the kernel's refusals.
  void replace_egress(const std::string& id, const std::vector<EgressRule>& egress);
  // The address sandbox `id` holds, if any.
  std::optional<std::uint32_t> address_of(const std::string& id) const;
  // Deletes the host end of the sandbox's veth pair (a stopped sandbox keeps its address).
  // Never throws; failures are logged by the caller through the returned message (empty: ok).
  std::string detach(const std::string& id) noexcept;
  // detach(), then frees the sandbox's lease and policy file; with the last lease the
  // resolver, the table and the bridge go.
  // Never throws; returns what failed, or empty.
  std::string release(const std::string& id) noexcept;
  // Releases every lease whose sandbox `sandbox_exists` says is gone; returns their ids. With
  // leases left, starts the resolver again if it died.
  std::vector<std::string> reclaim(const std::function<bool(const std::string& id)>& sandbox_exists);

 private:
  // With the lock held.
  void remove_shared_objects_if_unused();
  void ensure_resolver() const;
  SandboxFirewall sandbox_firewall(const std::string& id, std::uint32_t address) const;
  // The sandbox's nft entries, and the instance's table when it is missing, in as few nft runs
  // as `lease` allows (attach).
  void install_sandbox_rules(Nftables& nft, const Allocation& lease, const std::string& id,
                             const std::vector<EgressRule>& egress) const;
  std::string release_locked(const std::string& id) noexcept;

  BridgeSettings settings_;
  std::filesystem::path leases_dir_;
  InstanceFirewall firewall_;
};

}  // namespace hutch::subcontainer::network
