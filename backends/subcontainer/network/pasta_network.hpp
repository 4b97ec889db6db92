// `--network bridge` without root, as Podman does it rootless: pasta (Debian's `passt`) joins
// the sandbox's user and network namespaces, gives it a tap interface `eth0` with
// kSandboxAddress/24 and a default route through kGateway, and relays its traffic through
// sockets of its own on the host (so it leaves from the host's addresses, as the host's own
// traffic does). The sandboxes share no link: each has its pasta, and the same addresses.
//
// What the root path does on the host, this one does elsewhere:
// - egress policy: a table inside the sandbox's network namespace (netns_firewall.hpp), with the
//   root path's default and rule text. Domain rules need the resolver, which serves bridge
//   sandboxes only: they are refused (Errc::unsupported).
// - host loopback: closed. pasta's mapping of the gateway to the host's loopback is off
//   (--no-map-gw), and so is its forwarding of the sandbox's own loopback ports to the host's
//   (-T none -U none); the host's other addresses are rejected by the table.
// - DNS: the sandboxes' /etc/resolv.conf names the first upstream_dns that a sandbox can reach
//   (IPv4, not loopback: nameserver()), and the table lets DNS reach that server alone. (Not
//   pasta's --dns-forward: the pasta of Debian 12 sends what it forwards to the host's own
//   address instead of the server given with --dns.)
// - published ports: pasta binds the host ports (-t/-u, HOST_IP/HOST_PORT:SANDBOX_PORT); a port 0
//   is picked by binding it here first (published_ports.hpp), then left to pasta.
//
// Who owns what: pasta runs as a process of the sandbox's, owned as owned_process.hpp says
// (the record's pasta_pid), and ends with the sandbox's leader (hutch-pasta-helper watches it,
// pasta_helper/protocol.hpp); the table goes with the network namespace. Nothing is left on the
// host's side to reclaim.
#pragma once

#include "owned_process.hpp"

#include <hutch/types.hpp>

#include <sys/types.h>

#include <filesystem>
#include <string>
#include <vector>

namespace hutch::subcontainer::network {

struct PastaSettings {
  std::filesystem::path pasta;   // the pasta executable; empty: none found (then no bridge)
  std::filesystem::path helper;  // hutch-pasta-helper
  std::vector<std::string> upstream_dns;  // the sandboxes' DNS servers (see nameserver())
};

// The executable `pasta` in $PATH, or empty.
std::filesystem::path find_pasta();

class PastaNetwork {
 public:
  // slirp4netns' and Podman's choices: a sandbox sees the same network wherever it runs.
  static constexpr const char* kSandboxAddress = "10.0.2.100";
  static constexpr const char* kGateway = "10.0.2.2";

  explicit PastaNetwork(PastaSettings settings) : settings_(std::move(settings)) {}
  const PastaSettings& settings() const { return settings_; }
  bool available() const { return !settings_.pasta.empty(); }
  // The sandboxes' DNS server: the first upstream_dns that is an IPv4 address and not loopback
  // (the host's loopback is closed to sandboxes); empty when there is none.
  std::string nameserver() const;

  // Errc::unsupported, naming sandbox `id` (none: one being created), for what the rootless bridge cannot do: domain
  // rules, and published ports on an IPv6 host address.
  static void check(const std::string& id, const std::vector<EgressRule>& egress, const std::vector<PortMapping>& ports);

  struct Attached {
    OwnedProcess pasta;
    std::vector<PortBinding> published;  // where spec.ports are bound
  };
  // Gives the network namespace of `leader` (the sandbox's PID 1, running, in a user namespace
  // of this uid's) its egress table for `egress` (checked), then starts its pasta with `ports`
  // published (`previous`: the bindings of its last start, whose picked ports it gets again
  // where they are free). `pid_file`: where pasta says its pid, in the sandbox's directory.
  // Errc::unsupported as check() says; Errc::state for a host port in use; Errc::backend when
  // pasta or the table cannot be set up (pasta's own message included).
  Attached attach(const std::string& id, pid_t leader, const std::filesystem::path& pid_file,
                  const std::vector<EgressRule>& egress, const std::vector<PortMapping>& ports,
                  const std::vector<PortBinding>& previous) const;
  // Replaces the running sandbox's egress table with one for `egress`, in one transaction.
  void replace_egress(const std::string& id, pid_t leader, const std::vector<EgressRule>& egress) const;

 private:
  void install_table(const std::string& id, pid_t leader, const std::vector<EgressRule>& egress) const;

  PastaSettings settings_;
};

}  // namespace hutch::subcontainer::network
