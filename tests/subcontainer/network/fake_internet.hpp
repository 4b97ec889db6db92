// A fake internet for the bridge network tests, so that no packet leaves this machine: a
// network namespace made here, joined to the test's own namespace (main.cpp gives the test
// process one of its own) by a veth pair, with a TcpGreeter on port 80 of every address it
// holds:
//   198.18.0.10      a public server (198.18.0.0/15 is not in the default deny list)
//   198.18.0.20      another public server
//   169.254.169.254  a cloud metadata server
//   10.99.0.10, 172.16.5.10, 192.168.77.10   servers on private ranges
//   198.18.0.53      its DNS server (fake_dns.hpp), every test's upstream_dns:
//                    good.test -> 198.18.0.10, a.good.test and other.test -> 198.18.0.20
// The test namespace has 198.18.0.1 on its end and its default route through the fake
// internet; or, with Routes::host (the docker tests, whose engine routes in the host's own
// namespace), routes to 198.18.0.0/15 and to each blocked server's /32 alone, so that a
// packet to them never leaves the machine whatever the firewall does. Everything goes with
// the namespace when this object is destroyed (the veth pair, and the routes through it).
#pragma once

#include "network/netlink.hpp"
#include "fake_dns.hpp"
#include "network/netns_thread.hpp"
#include "tcp_greeter.hpp"

#include <fcntl.h>
#include <sched.h>

#include <memory>
#include <string>
#include <thread>
#include <vector>

namespace hutch::subcontainer::test {

inline constexpr const char* kPublicServer = "198.18.0.10";
inline constexpr const char* kOtherPublicServer = "198.18.0.20";
inline constexpr const char* kTestHostAddress = "198.18.0.1";
inline const std::vector<std::string> kBlockedServers{"169.254.169.254", "10.99.0.10", "172.16.5.10", "192.168.77.10"};
inline constexpr std::uint16_t kServerPort = 80;
inline constexpr const char* kFakeDnsServer = "198.18.0.53";

class FakeInternet {
 public:
  enum class Routes { default_route, host };

  explicit FakeInternet(Routes routes = Routes::default_route) {
    using namespace network;
    std::thread maker([this] {
      if (::unshare(CLONE_NEWNET) == 0) netns_ = UniqueFd(::open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC));
    });
    maker.join();
    if (!netns_) throw std::runtime_error("FakeInternet: cannot make a network namespace");
    NetlinkSocket here;
    here.delete_link("fakenet0");
    here.add_veth("fakenet0", "fakenet1", ::getpid());
    here.move_to_namespace("fakenet1", netns_.get());
    here.add_address("fakenet0", *parse_ipv4_cidr(std::string(kTestHostAddress) + "/24"));
    if (routes == Routes::default_route) {
      here.add_default_route("fakenet0", *parse_ipv4(kPublicServer));
    } else {
      here.add_route("fakenet0", *parse_ipv4_cidr("198.18.0.0/15"), *parse_ipv4(kPublicServer));
      for (const auto& address : kBlockedServers)
        here.add_route("fakenet0", *parse_ipv4_cidr(address + "/32"), *parse_ipv4(kPublicServer));
    }
    run_in_network_namespace(netns_.get(), [this] {
      NetlinkSocket inside;
      inside.set_up("lo");
      inside.add_address("fakenet1", *parse_ipv4_cidr(std::string(kPublicServer) + "/24"));
      for (const auto& address : kBlockedServers) inside.add_address("lo", *parse_ipv4_cidr(address + "/32"));
      inside.add_address("lo", *parse_ipv4_cidr(std::string(kOtherPublicServer) + "/32"));
      inside.add_address("lo", *parse_ipv4_cidr(std::string(kFakeDnsServer) + "/32"));
      server_ = std::make_unique<TcpGreeter>(kServerPort);
      dns_ = std::make_unique<FakeDns>(kFakeDnsServer, std::map<std::string, std::string>{
          {"good.test", kPublicServer}, {"a.good.test", kOtherPublicServer}, {"other.test", kOtherPublicServer}});
    });
  }
  ~FakeInternet() {
    server_.reset();
    dns_.reset();
    // The namespace dies with its last reference, and the veth pair with it.
  }

  TcpGreeter& server() { return *server_; }
  FakeDns& dns() { return *dns_; }

 private:
  UniqueFd netns_;
  std::unique_ptr<TcpGreeter> server_;
  std::unique_ptr<FakeDns> dns_;
};

}  // namespace hutch::subcontainer::test
