// How the host starts hutch-port-forwarder (network/port_forwarder_process.hpp) and what it
// answers: shared by both sides so that they cannot drift apart.
//
//   hutch-port-forwarder <sandbox id> <sandbox IPv4 address> <protocol>:<sandbox port>...
//
// fd 0 /dev/null; fd 1 the report pipe; fd 2 /dev/null; fd 3 a pidfd of the sandbox's leader;
// fd 4 + i the host socket, bound (and for tcp listening), of the i-th <protocol>:<port>.
// The started process forks once and exits: the child, reparented away from the host, is the
// forwarder. It writes one line on the report pipe and closes it:
//   "OK <pid>"   it forwards from now on; <pid> is its own
//   "ERR <why>"  it could not start
#pragma once

namespace hutch::subcontainer::port_forwarder {

inline constexpr int kReportFd = 1;
inline constexpr int kLeaderFd = 3;
inline constexpr int kFirstSocketFd = 4;

}  // namespace hutch::subcontainer::port_forwarder
