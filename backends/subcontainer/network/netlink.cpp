#include "netlink.hpp"

#include <hutch/error.hpp>

#include <arpa/inet.h>
#include <linux/if_link.h>
#include <linux/rtnetlink.h>
#include <net/if.h>
#include <netlink/netlink.h>
#include <netlink/route/addr.h>
#include <netlink/route/link.h>
#include <netlink/route/link/bridge.h>
#include <netlink/route/link/veth.h>
#include <netlink/route/route.h>

namespace hutch::subcontainer::network {
namespace {

// libnl's reference-counted objects, each given back on scope exit.
struct LinkPut {
  void operator()(rtnl_link* link) const { rtnl_link_put(link); }
};
struct AddrPut {
  void operator()(rtnl_addr* addr) const { rtnl_addr_put(addr); }
};
struct NlAddrPut {
  void operator()(nl_addr* addr) const { nl_addr_put(addr); }
};
struct RoutePut {
  void operator()(rtnl_route* route) const { rtnl_route_put(route); }
};
using LinkPtr = std::unique_ptr<rtnl_link, LinkPut>;
using AddrPtr = std::unique_ptr<rtnl_addr, AddrPut>;
using NlAddrPtr = std::unique_ptr<nl_addr, NlAddrPut>;
using RoutePtr = std::unique_ptr<rtnl_route, RoutePut>;
struct MsgFree {
  void operator()(nl_msg* message) const { nlmsg_free(message); }
};
using MsgPtr = std::unique_ptr<nl_msg, MsgFree>;

[[noreturn]] void fail(const std::string& what, int nl_error) {
  throw Error(Errc::backend, "netlink: " + what + ": " + nl_geterror(nl_error));
}

NlAddrPtr ipv4_address(std::uint32_t address, int prefix) {
  const std::uint32_t raw = htonl(address);
  NlAddrPtr out(nl_addr_build(AF_INET, &raw, sizeof raw));
  if (!out) throw Error(Errc::backend, "netlink: out of memory");
  nl_addr_set_prefixlen(out.get(), prefix);
  return out;
}

LinkPtr get_link(nl_sock* socket, const std::string& name) {
  rtnl_link* link = nullptr;
  const int rc = rtnl_link_get_kernel(socket, 0, name.c_str(), &link);
  if (rc == -NLE_NODEV || rc == -NLE_OBJ_NOTFOUND) return nullptr;
  if (rc < 0) fail("look up link " + name, rc);
  return LinkPtr(link);
}

LinkPtr require_link(nl_sock* socket, const std::string& name) {
  LinkPtr link = get_link(socket, name);
  if (!link) throw Error(Errc::backend, "netlink: there is no link named " + name);
  return link;
}

}  // namespace

NetlinkSocket::NetlinkSocket() {
  socket_ = nl_socket_alloc();
  if (socket_ == nullptr) throw Error(Errc::backend, "netlink: cannot allocate a socket");
  if (const int rc = nl_connect(socket_, NETLINK_ROUTE); rc < 0) {
    nl_socket_free(socket_);
    fail("connect a NETLINK_ROUTE socket", rc);
  }
}

NetlinkSocket::~NetlinkSocket() { nl_socket_free(socket_); }

int NetlinkSocket::link_index(const std::string& name) {
  LinkPtr link = get_link(socket_, name);
  return link ? rtnl_link_get_ifindex(link.get()) : 0;
}

void NetlinkSocket::ensure_bridge(const std::string& name, const Ipv4Cidr& address) {
  LinkPtr link = get_link(socket_, name);
  if (!link) {
    const int rc = rtnl_link_bridge_add(socket_, name.c_str());
    // Another hutch process made it meanwhile: fine.
    if (rc < 0 && rc != -NLE_EXIST) fail("create bridge " + name, rc);
    link = require_link(socket_, name);
  }
  if (!rtnl_link_is_bridge(link.get()))
    throw Error(Errc::state, "network: the link " + name + " exists and is not a bridge (bridge in [backends.subcontainer])");
  add_address(name, address);
}

void NetlinkSocket::add_veth(const std::string& host_name, const std::string& peer_name, pid_t pid) {
  const int rc = rtnl_link_veth_add(socket_, host_name.c_str(), peer_name.c_str(), pid);
  if (rc == -NLE_EXIST) throw Error(Errc::already_exists, "netlink: link " + host_name + " exists already");
  if (rc < 0) fail("create veth pair " + host_name + " (peer " + peer_name + " in pid " + std::to_string(pid) + "'s namespace)", rc);
}

void NetlinkSocket::move_to_namespace(const std::string& link, int namespace_fd) {
  LinkPtr current = require_link(socket_, link);
  LinkPtr change(rtnl_link_alloc());
  if (!change) throw Error(Errc::backend, "netlink: out of memory");
  rtnl_link_set_ns_fd(change.get(), namespace_fd);
  if (const int rc = rtnl_link_change(socket_, current.get(), change.get(), 0); rc < 0)
    fail("move " + link + " to another network namespace", rc);
}

void NetlinkSocket::attach_to_bridge(const std::string& link, const std::string& bridge) {
  const int bridge_index = link_index(bridge);
  const int port_index = link_index(link);
  if (bridge_index == 0 || port_index == 0) throw Error(Errc::backend, "netlink: no link " + (bridge_index ? link : bridge));
  if (const int rc = rtnl_link_enslave_ifindex(socket_, bridge_index, port_index); rc < 0)
    fail("attach " + link + " to bridge " + bridge, rc);
  // Before the port is up: no frame passes between it and another sandbox's.
  isolate_bridge_port(port_index, link);
  set_up(link);
}

void NetlinkSocket::isolate_bridge_port(int port_index, const std::string& link) {
  // What `bridge link set dev LINK isolated on` sends: libnl has no setter for this flag
  // (IFLA_BRPORT_ISOLATED, Linux 4.18).
  MsgPtr message(nlmsg_alloc_simple(RTM_SETLINK, NLM_F_REQUEST));
  if (!message) throw Error(Errc::backend, "netlink: out of memory");
  ifinfomsg header{};
  header.ifi_family = AF_BRIDGE;
  header.ifi_index = port_index;
  nlattr* protinfo = nullptr;
  if (nlmsg_append(message.get(), &header, sizeof header, NLMSG_ALIGNTO) < 0 ||
      (protinfo = nla_nest_start(message.get(), IFLA_PROTINFO | NLA_F_NESTED)) == nullptr ||
      nla_put_u8(message.get(), IFLA_BRPORT_ISOLATED, 1) < 0 || nla_nest_end(message.get(), protinfo) < 0)
    throw Error(Errc::backend, "netlink: cannot build the message that isolates " + link);
  if (const int rc = nl_send_sync(socket_, message.release()); rc < 0) fail("isolate bridge port " + link, rc);
}

void NetlinkSocket::add_address(const std::string& link, const Ipv4Cidr& address) {
  const int index = link_index(link);
  if (index == 0) throw Error(Errc::backend, "netlink: no link " + link);
  AddrPtr addr(rtnl_addr_alloc());
  if (!addr) throw Error(Errc::backend, "netlink: out of memory");
  rtnl_addr_set_ifindex(addr.get(), index);
  NlAddrPtr local = ipv4_address(address.address, address.prefix);
  rtnl_addr_set_local(addr.get(), local.get());
  if (address.prefix < 31) {
    NlAddrPtr broadcast = ipv4_address(address.broadcast(), 32);
    rtnl_addr_set_broadcast(addr.get(), broadcast.get());
  }
  const int rc = rtnl_addr_add(socket_, addr.get(), 0);
  if (rc < 0 && rc != -NLE_EXIST) fail("add address " + format_cidr(address) + " to " + link, rc);
  set_up(link);
}

void NetlinkSocket::set_up(const std::string& link) {
  LinkPtr current = require_link(socket_, link);
  LinkPtr change(rtnl_link_alloc());
  if (!change) throw Error(Errc::backend, "netlink: out of memory");
  rtnl_link_set_flags(change.get(), IFF_UP);
  if (const int rc = rtnl_link_change(socket_, current.get(), change.get(), 0); rc < 0) fail("bring " + link + " up", rc);
}

void NetlinkSocket::add_default_route(const std::string& link, std::uint32_t gateway) {
  add_route(link, {0, 0}, gateway);
}

void NetlinkSocket::add_route(const std::string& link, const Ipv4Cidr& destination, std::uint32_t gateway) {
  const int index = link_index(link);
  if (index == 0) throw Error(Errc::backend, "netlink: no link " + link);
  RoutePtr route(rtnl_route_alloc());
  if (!route) throw Error(Errc::backend, "netlink: out of memory");
  rtnl_route_set_family(route.get(), AF_INET);
  rtnl_route_set_table(route.get(), RT_TABLE_MAIN);
  rtnl_route_set_protocol(route.get(), RTPROT_STATIC);
  rtnl_route_set_scope(route.get(), RT_SCOPE_UNIVERSE);
  NlAddrPtr to = ipv4_address(destination.network(), destination.prefix);
  rtnl_route_set_dst(route.get(), to.get());
  rtnl_nexthop* hop = rtnl_route_nh_alloc();  // owned by the route once added
  if (hop == nullptr) throw Error(Errc::backend, "netlink: out of memory");
  NlAddrPtr via = ipv4_address(gateway, 32);
  rtnl_route_nh_set_gateway(hop, via.get());
  rtnl_route_nh_set_ifindex(hop, index);
  rtnl_route_add_nexthop(route.get(), hop);
  const int rc = rtnl_route_add(socket_, route.get(), NLM_F_CREATE | NLM_F_REPLACE);
  if (rc < 0) fail("add the route to " + format_cidr(destination) + " via " + format_ipv4(gateway) + " on " + link, rc);
}

bool NetlinkSocket::delete_link(const std::string& name) {
  LinkPtr link(rtnl_link_alloc());
  if (!link) throw Error(Errc::backend, "netlink: out of memory");
  rtnl_link_set_name(link.get(), name.c_str());
  const int rc = rtnl_link_delete(socket_, link.get());
  if (rc == -NLE_NODEV || rc == -NLE_OBJ_NOTFOUND) return false;
  if (rc < 0) fail("delete link " + name, rc);
  return true;
}

}  // namespace hutch::subcontainer::network
