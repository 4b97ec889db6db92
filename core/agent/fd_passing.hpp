// Passing file descriptors over a unix socket (SCM_RIGHTS), shared by the agent, which answers
// some requests with an fd (a terminal's master, a connected socket; wire.hpp), the host, which
// receives it, and subcontainer's fs helper protocol (sandbox_fs/protocol.cpp). Header-only:
// both the static agent executables and the host's libraries use it.
#pragma once

#include "unique_fd.hpp"

#include <sys/socket.h>

#include <cstring>
#include <string_view>

namespace hutch::agent {

// The control data of a message that carries one fd.
struct OneFdControl {
  alignas(cmsghdr) char data[CMSG_SPACE(sizeof(int))]{};
};
// Room for the control data of a received message: a peer may send more fds than expected, and
// all of them must be seen to be closed.
struct ReceivedFdsControl {
  alignas(cmsghdr) char data[CMSG_SPACE(sizeof(int) * 4)]{};
};

// Attaches `fd` to `message`, its control data in `control` (which must outlive the send).
inline void attach_fd(msghdr& message, OneFdControl& control, int fd) {
  message.msg_control = control.data;
  message.msg_controllen = sizeof control.data;
  cmsghdr* cmsg = CMSG_FIRSTHDR(&message);
  cmsg->cmsg_level = SOL_SOCKET;
  cmsg->cmsg_type = SCM_RIGHTS;
  cmsg->cmsg_len = CMSG_LEN(sizeof(int));
  std::memcpy(CMSG_DATA(cmsg), &fd, sizeof fd);
}

// Takes the fds that came with a received `message`: the first goes to `passed` when that is
// still empty, every other one is closed, so a peer cannot leave fds behind in this process.
// Returns how many were closed.
inline int keep_first_fd(msghdr& message, UniqueFd& passed) {
  int closed = 0;
  for (cmsghdr* c = CMSG_FIRSTHDR(&message); c != nullptr; c = CMSG_NXTHDR(&message, c)) {
    if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS) continue;
    const std::size_t count = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
    for (std::size_t i = 0; i < count; ++i) {
      int received;
      std::memcpy(&received, CMSG_DATA(c) + i * sizeof(int), sizeof received);
      if (!passed) {
        passed.reset(received);
      } else {
        ::close(received);
        ++closed;
      }
    }
  }
  return closed;
}

// Sends `line` with `fd` attached; false when the peer is gone (no SIGPIPE).
inline bool send_line_with_fd(int conn, std::string_view line, int fd) {
  iovec iov{const_cast<char*>(line.data()), line.size()};
  msghdr header{};
  header.msg_iov = &iov;
  header.msg_iovlen = 1;
  OneFdControl control;
  attach_fd(header, control, fd);
  return ::sendmsg(conn, &header, MSG_NOSIGNAL) == static_cast<ssize_t>(line.size());
}

// One recvmsg(2) of at most `size` bytes with `flags` (plus MSG_CMSG_CLOEXEC); the fds that
// come with it as keep_first_fd takes them. Returns what recvmsg returned.
inline ssize_t receive_with_fd(int conn, char* buffer, std::size_t size, UniqueFd& passed, int flags) {
  iovec iov{buffer, size};
  ReceivedFdsControl control;
  msghdr header{};
  header.msg_iov = &iov;
  header.msg_iovlen = 1;
  header.msg_control = control.data;
  header.msg_controllen = sizeof control.data;
  const ssize_t n = ::recvmsg(conn, &header, flags | MSG_CMSG_CLOEXEC);
  if (n >= 0) keep_first_fd(header, passed);
  return n;
}

}  // namespace hutch::agent
