// Links, addresses and routes through rtnetlink (libnl-route-3): what `ip link/addr/route`
// would do, without a child process. A socket talks to the network namespace of the thread
// that opened it (netns_thread.hpp runs code in another one).
#pragma once

#include "egress_names.hpp"
#include "ipv4.hpp"

#include <sys/types.h>

#include <memory>
#include <string>

struct nl_sock;

namespace hutch::subcontainer::network {

class NetlinkSocket {
 public:
  // A NETLINK_ROUTE socket of the calling thread's network namespace. Errc::backend on failure.
  NetlinkSocket();
  ~NetlinkSocket();
  NetlinkSocket(const NetlinkSocket&) = delete;
  NetlinkSocket& operator=(const NetlinkSocket&) = delete;

  // The link's index, 0 when there is no link of that name.
  int link_index(const std::string& name);
  // Creates the bridge `name` unless a link of that name exists, gives it `address` (the
  // sandboxes' gateway, with the subnet's prefix) unless it has it, and brings it up.
  // Errc::backend naming the bridge on failure; Errc::state when `name` is not a bridge.
  void ensure_bridge(const std::string& name, const Ipv4Cidr& address);
  // A veth pair: `host_name` in this namespace, `peer_name` in the network namespace of
  // process `pid`. Errc::backend on failure (Errc::already_exists when `host_name` exists).
  void add_veth(const std::string& host_name, const std::string& peer_name, pid_t pid);
  // Moves `link` into the network namespace `namespace_fd`.
  void move_to_namespace(const std::string& link, int namespace_fd);
  // Makes `link` an isolated port of `bridge` and brings it up. An isolated port's frames reach
  // only the bridge's ports that are not isolated (the host's end, the bridge itself), never
  // another isolated one: sandboxes on one bridge cannot talk to each other at layer 2, where
  // no nft rule of the inet table sees them (no br_netfilter).
  void attach_to_bridge(const std::string& link, const std::string& bridge);
  // Gives `link` the address (with its prefix) and brings it up.
  void add_address(const std::string& link, const Ipv4Cidr& address);
  void set_up(const std::string& link);
  // The default IPv4 route through `gateway`, on `link`.
  void add_default_route(const std::string& link, std::uint32_t gateway);
  // The IPv4 route to `destination` through `gateway`, on `link`.
  void add_route(const std::string& link, const Ipv4Cidr& destination, std::uint32_t gateway);
  // Deletes the link (with a veth, its peer too). False when there was none; Errc::backend
  // when the kernel refused.
  bool delete_link(const std::string& name);

 private:
  void isolate_bridge_port(int port_index, const std::string& link);

  nl_sock* socket_ = nullptr;
};

}  // namespace hutch::subcontainer::network
