// The bridge network tests run in a network namespace of their own, made before anything
// else (threads made later inherit it): hutch's bridge, its nftables table, its forwarding
// setting and the fake internet's routes never touch the host's network, nor docker's rules
// (whose FORWARD policy would drop the bridge's traffic, see the README). Without root there
// is no namespace; every test then says why it cannot run (HUTCH_NEED).
#include "network/netlink.hpp"

#include <gtest/gtest.h>

#include <sched.h>
#include <unistd.h>

#include <cstdio>

int main(int argc, char** argv) {
  if (::geteuid() == 0) {
    if (::unshare(CLONE_NEWNET) != 0) {
      std::perror("unshare(CLONE_NEWNET)");
      return 1;
    }
    hutch::subcontainer::network::NetlinkSocket().set_up("lo");
  }
  ::testing::InitGoogleTest(&argc, argv);
  return RUN_ALL_TESTS();
}
