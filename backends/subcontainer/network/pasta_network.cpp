#include "pasta_network.hpp"

#include "dns_policy.hpp"
#include "egress_names.hpp"
#include "ipv4.hpp"
#include "netns_firewall.hpp"
#include "pasta_helper/protocol.hpp"
#include "published_ports.hpp"

#include <hutch/error.hpp>

#include <arpa/inet.h>
#include <ifaddrs.h>
#include <netinet/in.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <sstream>

namespace hutch::subcontainer::network {
namespace {

// The host's own addresses (but loopback, which the default denies), as the calling thread's
// network namespace has them now.
void host_addresses(std::vector<std::string>& ipv4, std::vector<std::string>& ipv6) {
  ifaddrs* list = nullptr;
  if (::getifaddrs(&list) != 0) throw_system_error("network: list the host's addresses", errno);
  for (const ifaddrs* entry = list; entry != nullptr; entry = entry->ifa_next) {
    if (entry->ifa_addr == nullptr) continue;
    char text[INET6_ADDRSTRLEN] = {};
    if (entry->ifa_addr->sa_family == AF_INET) {
      const auto* address = reinterpret_cast<const sockaddr_in*>(entry->ifa_addr);
      if ((ntohl(address->sin_addr.s_addr) >> 24) == 127) continue;
      ::inet_ntop(AF_INET, &address->sin_addr, text, sizeof text);
      ipv4.push_back(text);
    } else if (entry->ifa_addr->sa_family == AF_INET6) {
      const auto* address = reinterpret_cast<const sockaddr_in6*>(entry->ifa_addr);
      if (IN6_IS_ADDR_LOOPBACK(&address->sin6_addr)) continue;
      ::inet_ntop(AF_INET6, &address->sin6_addr, text, sizeof text);
      ipv6.push_back(text);
    }
  }
  ::freeifaddrs(list);
}

// pasta's -t/-u argument for one mapping: HOST_IP/HOST_PORT:SANDBOX_PORT.
std::string port_spec(const PortBinding& binding, std::uint16_t sandbox_port) {
  return binding.host_address + "/" + std::to_string(binding.host_port) + ":" + std::to_string(sandbox_port);
}

}  // namespace

std::filesystem::path find_pasta() {
  const char* path = std::getenv("PATH");
  std::istringstream dirs(path != nullptr ? path : "/usr/local/bin:/usr/bin:/bin");
  for (std::string dir; std::getline(dirs, dir, ':');) {
    if (dir.empty()) continue;
    const std::filesystem::path candidate = std::filesystem::path(dir) / "pasta";
    if (::access(candidate.c_str(), X_OK) == 0) return candidate;
  }
  return {};
}

std::string PastaNetwork::nameserver() const {
  for (const auto& server : settings_.upstream_dns)
    if (const auto address = parse_ipv4(server); address && (*address >> 24) != 127) return server;
  return {};
}

void PastaNetwork::check(const std::string& id, const std::vector<EgressRule>& egress,
                         const std::vector<PortMapping>& ports) {
  const std::string who = id.empty() ? std::string("subcontainer") : "sandbox " + id;
  for (const auto& rule : egress)
    if (is_domain_rule(rule))
      throw Error(Errc::unsupported, who + ": egress rule '" + rule.destination +
                                         "': domain rules need the bridge network's resolver, which runs as root "
                                         "only; without root, give addresses (CIDR rules)");
  for (const auto& port : ports)
    if (port.host_ip.find(':') != std::string::npos)
      throw Error(Errc::unsupported, who + ": published port on " + port.host_ip +
                                         ": without root, ports are published on IPv4 addresses only");
}

void PastaNetwork::install_table(const std::string& id, pid_t leader, const std::vector<EgressRule>& egress) const {
  NetnsFirewall firewall{id, nameserver(), {}, {}};
  host_addresses(firewall.host_ipv4, firewall.host_ipv6);
  const UniqueFd leader_fd = open_pidfd(leader);
  if (!leader_fd) throw_system_error("sandbox " + id + ": pidfd_open of its leader " + std::to_string(leader), errno);
  std::vector<int> fds(static_cast<std::size_t>(pasta_helper::kLeaderFd) + 1, -1);
  fds[pasta_helper::kLeaderFd] = leader_fd.get();
  const std::string what = "its egress table (in its network namespace)";
  const std::string line =
      run_and_read_report(settings_.helper, {"firewall", id, netns_ruleset(firewall, egress)}, std::move(fds), id, what);
  if (line.rfind("OK", 0) != 0) throw report_failure(line, id, what);
}

PastaNetwork::Attached PastaNetwork::attach(const std::string& id, pid_t leader, const std::filesystem::path& pid_file,
                                            const std::vector<EgressRule>& egress,
                                            const std::vector<PortMapping>& ports,
                                            const std::vector<PortBinding>& previous) const {
  check(id, egress, ports);
  if (!available())
    throw Error(Errc::unsupported, "sandbox " + id + ": network \"bridge\" without root needs pasta (Debian package "
                                   "passt), which is not in $PATH; install it or set [backends.subcontainer] pasta");
  // Before pasta: no packet of the sandbox's leaves without its rules.
  install_table(id, leader, egress);
  Attached attached;
  std::vector<std::string> tcp, udp;
  if (!ports.empty()) {
    // Bound here to learn the picked ports and to fail on a port in use, then let go for pasta.
    HostPorts host = bind_host_ports(ports, previous, id);
    attached.published = std::move(host.bindings);
    for (std::size_t i = 0; i < ports.size(); ++i)
      (ports[i].protocol == PortProtocol::udp ? udp : tcp).push_back(port_spec(attached.published[i], ports[i].sandbox_port));
  }
  std::vector<std::string> args{"pasta", id, pid_file.string(), settings_.pasta.string(),
          "--quiet", "--ipv4-only", "--config-net", "--ns-ifname", "eth0",
          "--address", kSandboxAddress, "--netmask", "24", "--gateway", kGateway,
          // The host's loopback stays closed: not through the gateway's address, nor through
          // the sandbox's own loopback ports.
          "--no-map-gw", "--tcp-ns", "none", "--udp-ns", "none"};
  if (tcp.empty()) tcp.push_back("none");
  if (udp.empty()) udp.push_back("none");
  for (const auto& spec : tcp) args.insert(args.end(), {"--tcp-ports", spec});
  for (const auto& spec : udp) args.insert(args.end(), {"--udp-ports", spec});
  // Names go to nameserver() like any other traffic: pasta has no part in them.
  args.insert(args.end(), {"--dns", "none"});
  args.push_back(std::to_string(leader));
  const UniqueFd leader_fd = open_pidfd(leader);
  if (!leader_fd) throw_system_error("sandbox " + id + ": pidfd_open of its leader " + std::to_string(leader), errno);
  std::vector<int> fds(static_cast<std::size_t>(pasta_helper::kLeaderFd) + 1, -1);
  fds[pasta_helper::kLeaderFd] = leader_fd.get();
  try {
    attached.pasta = OwnedProcess::start(settings_.helper, args, std::move(fds), id, "pasta");
  } catch (const Error& e) {
    // The usual cause on hosts that keep the tun device to root (mode 0600).
    if (::access("/dev/net/tun", R_OK | W_OK) != 0)
      throw Error(e.code(), std::string(e.what()) + " (/dev/net/tun is not open to this user: pasta needs it, "
                                                     "mode 0666 as udev makes it on most distributions)");
    throw;
  }
  return attached;
}

void PastaNetwork::replace_egress(const std::string& id, pid_t leader, const std::vector<EgressRule>& egress) const {
  check(id, egress, {});
  install_table(id, leader, egress);
}

}  // namespace hutch::subcontainer::network
