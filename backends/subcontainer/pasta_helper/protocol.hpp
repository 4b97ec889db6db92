// How the host runs hutch-pasta-helper (network/pasta_network.hpp) and what it answers: shared
// by both sides so that they cannot drift apart. Every verb gets fd 0 and 2 /dev/null, fd 1 the
// report pipe (starter_report.hpp), fd 3 a pidfd of the sandbox's leader, and writes one line on
// the report pipe:
//
//   hutch-pasta-helper firewall <sandbox id> <nft commands>
//       joins the leader's user and network namespaces, runs the commands there in one
//       transaction (libnftables), and exits: "OK 0", or "ERR <nft's message>".
//   hutch-pasta-helper pasta <sandbox id> <pid file> <pasta> <pasta argument>...
//       forks once and exits; the child, reparented away from the host, runs
//       `<pasta> -P <pid file> <pasta argument>...` (pasta forks to the background once its
//       tap interface and its ports are up) and answers "OK <pasta's pid>" or "ERR <why>"
//       (pasta's own message). It then stays to end pasta (SIGKILL) when the leader ends, and
//       exits with pasta.
#pragma once

namespace hutch::subcontainer::pasta_helper {

inline constexpr int kLeaderFd = 3;

}  // namespace hutch::subcontainer::pasta_helper
