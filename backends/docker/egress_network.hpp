// Egress rules and the default egress policy for docker sandboxes with network "bridge"
// (issue 19), with the same meaning as on the subcontainer backend (backends/egress).
//
// How: bridge sandboxes join a docker network of hutch's own ("hutch_<hash of the state dir>",
// labelled hutch.managed, bridge "hd<same hash>", subnet `egress_subnet`, default
// 10.214.N.0/24 with N from the same hash: not docker0's 172.17/16, Podman's 10.88/16 nor the
// subcontainer's 10.213/16, and one per state dir, since two networks may not share a subnet)
// at an address hutch leases before the container exists (EndpointsConfig IPAMConfig), so the
// sandbox's chain is in place before it runs anything. An nftables table of hutch's, inet
// hutch_<hash>, keyed on the sandboxes' source addresses, holds the default policy (forward and
// input hooks, egress/egress_policy.hpp) and each sandbox's chain (egress/egress_chain.hpp).
// The sandboxes' DNS (HostConfig.Dns) is hutch-resolver on the network's gateway address,
// which answers each sandbox by its rules (egress/resolver_policies.hpp).
//
// This needs the engine on this host, rootful, and hutch as root in the engine's network
// namespace; enforcement_problem() says why not otherwise.
//
// Who owns what: a sandbox's lease, chain and policy file from attach() to release(); the
// network, the table and the resolver while any lease exists (the first attach makes them,
// the last release removes them; a network still used by a container stays, and prune tries
// again). Every change holds the lease directory's lock; reclaim() (prune) frees the leases
// of containers that are gone, as after a kill -9 of their creator.
#pragma once

#include "context.hpp"

#include "address_leases.hpp"
#include "egress_chain.hpp"
#include "resolver_process.hpp"

#include <hutch/types.hpp>

#include <cstdint>
#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <vector>

namespace hutch::docker {

// Why this process cannot enforce egress rules on the engine of `context`, or nullopt.
std::optional<std::string> egress_enforcement_problem(const Context& context);

class EgressNetwork {
 public:
  // Touches nothing yet: leases, policies and the resolver's files in <state_dir>/network.
  explicit EgressNetwork(Context& context);

  // The docker network's name (NetworkMode and EndpointsConfig of a sandbox).
  const std::string& network() const { return network_; }
  const egress::Ipv4Cidr& subnet() const { return subnet_; }
  // The gateway: the sandboxes' DNS server.
  std::string gateway() const;

  // Leases an address for sandbox `id` (its own if it holds one), makes the network, the
  // table and the resolver when missing, installs the sandbox's `rules` (validated) before the
  // default policy and gives the resolver the same. Returns the address. On failure what this
  // call made is undone and the error thrown: Errc::state when the subnet is full,
  // Errc::backend for the engine's or the kernel's refusals.
  std::string attach(const std::string& id, const std::vector<EgressRule>& rules);
  // Replaces the rules of sandbox `id` in one transaction, then the resolver's copy.
  // Errc::state when it holds no address.
  void replace_egress(const std::string& id, const std::vector<EgressRule>& rules);
  // Frees the sandbox's chain, policy file and lease; with the last lease the resolver, the
  // table and the network go. Call once the container is gone. Never throws; returns what
  // failed, or empty.
  std::string release(const std::string& id) noexcept;
  // Releases every lease whose sandbox `exists` says is gone, unless taken less than a minute
  // ago (a create in progress elsewhere); returns their ids.
  std::vector<std::string> reclaim(const std::function<bool(const std::string& id)>& exists);

 private:
  std::filesystem::path dir() const;
  egress::EgressChain chain(const std::string& id, std::uint32_t address) const;
  void ensure_engine_network();
  void ensure_table();
  void ensure_resolver();
  std::string release_locked(const std::string& id) noexcept;
  void remove_shared_objects_if_unused();

  Context& context_;
  std::string table_;
  std::string network_;
  std::string bridge_;
  egress::Ipv4Cidr subnet_;
};

}  // namespace hutch::docker
