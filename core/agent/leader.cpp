#include "leader.hpp"

#include "process_tree.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sched.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <string>

namespace sbx::agent {
namespace {

void send_line(int fd, const std::string& line) {
  (void)!::send(fd, line.data(), line.size(), MSG_NOSIGNAL);
}

void set_receive_timeout(int fd, time_t seconds) {
  timeval limit{seconds, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &limit, sizeof limit);
}

int accept_connection(int listen_fd) {
  int conn;
  do {
    conn = ::accept4(listen_fd, nullptr, nullptr, SOCK_CLOEXEC);
  } while (conn < 0 && (errno == EINTR || errno == ECONNABORTED));
  return conn;
}

// The kernel reports the pid of a peer that is not visible in our pid namespace as 0: every
// process inside the sandbox is visible to its PID 1, the host's processes are not.
bool client_outside_pid_namespace(int conn) {
  ucred peer{};
  socklen_t size = sizeof peer;
  return ::getsockopt(conn, SOL_SOCKET, SO_PEERCRED, &peer, &size) == 0 && peer.pid == 0;
}

// Answers the next request with "E <why>" when no process can be forked to run it.
void refuse_next_request(int listen_fd, const std::string& why) {
  int conn = accept_connection(listen_fd);
  if (conn < 0) return;
  send_line(conn, "E " + why + "\n");
  ::close(conn);
}

// Reads one request: header, payload and the three stdio fds. False on a malformed request.
bool receive_request(int fd, wire::ExecMessage& message, int stdio[3]) {
  std::uint32_t length = 0;
  char control[CMSG_SPACE(sizeof(int) * 3)]{};
  iovec iov{&length, sizeof length};
  msghdr header{};
  header.msg_iov = &iov;
  header.msg_iovlen = 1;
  header.msg_control = control;
  header.msg_controllen = sizeof control;
  if (::recvmsg(fd, &header, MSG_WAITALL | MSG_CMSG_CLOEXEC) != sizeof length) return false;
  int received = 0;
  for (cmsghdr* c = CMSG_FIRSTHDR(&header); c != nullptr; c = CMSG_NXTHDR(&header, c)) {
    if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS) {
      received = static_cast<int>((c->cmsg_len - CMSG_LEN(0)) / sizeof(int));
      std::memcpy(stdio, CMSG_DATA(c), sizeof(int) * std::min(received, 3));
    }
  }
  if (received != 3 || length == 0 || length > wire::kMaxPayload) {
    for (int i = 0; i < std::min(received, 3); ++i) ::close(stdio[i]);
    return false;
  }
  std::string payload(length, '\0');
  std::size_t done = 0;
  while (done < length) {
    ssize_t n = ::recv(fd, payload.data() + done, length - done, 0);
    if (n <= 0) {
      if (n < 0 && errno == EINTR) continue;
      break;
    }
    done += static_cast<std::size_t>(n);
  }
  if (done != length || !wire::decode(payload, message)) {
    for (int i = 0; i < 3; ++i) ::close(stdio[i]);
    return false;
  }
  return true;
}

// Passes the request's connection from the command process to its shepherd.
bool hand_over(int channel, int conn) {
  char byte = 'c';
  iovec iov{&byte, 1};
  char control[CMSG_SPACE(sizeof(int))]{};
  msghdr header{};
  header.msg_iov = &iov;
  header.msg_iovlen = 1;
  header.msg_control = control;
  header.msg_controllen = sizeof control;
  cmsghdr* cmsg = CMSG_FIRSTHDR(&header);
  cmsg->cmsg_level = SOL_SOCKET;
  cmsg->cmsg_type = SCM_RIGHTS;
  cmsg->cmsg_len = CMSG_LEN(sizeof(int));
  std::memcpy(CMSG_DATA(cmsg), &conn, sizeof(int));
  return ::sendmsg(channel, &header, MSG_NOSIGNAL) == 1;
}

// The connection handed over on `channel`, or -1 when the command process sent none.
int take_over(int channel, int flags) {
  char byte;
  iovec iov{&byte, 1};
  char control[CMSG_SPACE(sizeof(int))]{};
  msghdr header{};
  header.msg_iov = &iov;
  header.msg_iovlen = 1;
  header.msg_control = control;
  header.msg_controllen = sizeof control;
  ssize_t n;
  do {
    n = ::recvmsg(channel, &header, flags | MSG_CMSG_CLOEXEC);
  } while (n < 0 && errno == EINTR);
  if (n != 1) return -1;
  cmsghdr* cmsg = CMSG_FIRSTHDR(&header);
  if (cmsg == nullptr || cmsg->cmsg_type != SCM_RIGHTS) return -1;
  int conn;
  std::memcpy(&conn, CMSG_DATA(cmsg), sizeof(int));
  return conn;
}

// The waiting command process: it is already forked and parked in accept(), so a request
// starts the command without first waking the leader and forking twice. It takes one request,
// gives the connection to its shepherd and becomes the command.
[[noreturn]] void serve_one_request(int listen_fd, int channel, const CommandPolicy& policy) {
  int conn = accept_connection(listen_fd);
  if (conn < 0) ::_exit(1);
  ::close(listen_fd);
  if (policy.host_clients_only && !client_outside_pid_namespace(conn)) {
    send_line(conn, "E refused: the agent serves only the host, not processes inside the sandbox\n");
    ::_exit(1);
  }
  set_receive_timeout(conn, 5);  // a stalled client must not hold the sandbox's exec slot for long
  wire::ExecMessage message;
  int stdio[3] = {-1, -1, -1};
  if (!receive_request(conn, message, stdio)) {
    send_line(conn, "E malformed exec request\n");
    ::_exit(1);
  }
  set_receive_timeout(conn, 0);
  if (!hand_over(channel, conn)) {
    send_line(conn, std::string("E hand the request to its shepherd: ") + std::strerror(errno) + "\n");
    ::_exit(1);
  }
  ::close(channel);
  ::close(conn);
  sigset_t none;
  sigemptyset(&none);
  ::sigprocmask(SIG_SETMASK, &none, nullptr);
  for (int i = 0; i < 3; ++i)
    if (::dup2(stdio[i], i) < 0) ::_exit(126);
  for (int i = 0; i < 3; ++i)
    if (stdio[i] > 2) ::close(stdio[i]);
  run_command(message, policy);
}

struct WaitingCommand {
  int listen_fd;
  int channel;
  int shepherd_fds[3];  // not the command's: closed in its (unshared) fd table
  const CommandPolicy* policy;
};

int run_waiting_command(void* argument) {
  auto* waiting = static_cast<WaitingCommand*>(argument);
  for (int fd : waiting->shepherd_fds) ::close(fd);
  serve_one_request(waiting->listen_fd, waiting->channel, *waiting->policy);
}

// Reads "K <signal>" lines from the host; false once the host has closed the connection.
bool handle_host_input(int conn, std::string& input) {
  char buffer[256];
  ssize_t n = ::recv(conn, buffer, sizeof buffer, MSG_DONTWAIT);
  if (n < 0) return errno == EAGAIN || errno == EINTR;
  if (n == 0) return false;
  input.append(buffer, static_cast<std::size_t>(n));
  std::size_t newline;
  while ((newline = input.find('\n')) != std::string::npos) {
    std::string line = input.substr(0, newline);
    input.erase(0, newline + 1);
    if (line.size() > 2 && line[0] == 'K') signal_tree(::getpid(), std::atoi(line.c_str() + 2));
  }
  return true;
}

// A subreaper for one command: forks the waiting command process, takes the connection from
// it once a request arrived (and tells the leader, via `taken_fd`, to ready the next pair),
// carries out the host's kill requests, reaps everything reparented to it, reports the
// command's status on the connection and exits. SIGCHLD is already blocked (inherited).
[[noreturn]] void shepherd(int listen_fd, int taken_fd, const CommandPolicy& policy) {
  ::prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0);
  sigset_t child_signal;
  sigemptyset(&child_signal);
  sigaddset(&child_signal, SIGCHLD);
  int signal_fd = ::signalfd(-1, &child_signal, SFD_CLOEXEC | SFD_NONBLOCK);
  int channel[2];
  if (signal_fd < 0 || ::socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, channel) != 0) {
    refuse_next_request(listen_fd, std::string("set up a shepherd: ") + std::strerror(errno));
    ::_exit(1);
  }
  WaitingCommand waiting{listen_fd, channel[1], {signal_fd, taken_fd, channel[0]}, &policy};
  // CLONE_VM|CLONE_VFORK, as posix_spawn does: the command process borrows this address space
  // until it execs, so no page tables are copied on the way in nor torn down at exec — most
  // of an exec's CPU time otherwise. The shepherd sleeps meanwhile; it has nothing to do
  // before the command runs.
  static constexpr std::size_t kStackSize = 256 * 1024;
  void* stack = ::mmap(nullptr, kStackSize, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK, -1, 0);
  pid_t command = stack == MAP_FAILED ? -1
                                      : ::clone(run_waiting_command, static_cast<char*>(stack) + kStackSize,
                                                CLONE_VM | CLONE_VFORK | SIGCHLD, &waiting);
  if (command < 0) {
    refuse_next_request(listen_fd, std::string("fork: ") + std::strerror(errno));
    ::_exit(1);
  }
  ::munmap(stack, kStackSize);
  ::close(listen_fd);
  ::close(channel[1]);

  int conn = -1;
  bool host_gone = false;
  std::string input;
  int status = 0;
  bool ended = false;
  while (!ended) {
    int watched = conn >= 0 ? (host_gone ? -1 : conn) : channel[0];
    pollfd fds[2] = {{signal_fd, POLLIN, 0}, {watched, POLLIN, 0}};
    if (::poll(fds, 2, -1) < 0) continue;
    if (fds[1].revents && conn < 0 && channel[0] >= 0) {
      conn = take_over(channel[0], 0);
      ::close(channel[0]);
      channel[0] = -1;
      if (conn >= 0) {
        pid_t self = ::getpid();
        (void)!::write(taken_fd, &self, sizeof self);
      }
    } else if (fds[1].revents && conn >= 0 && !host_gone) {
      if (!handle_host_input(conn, input)) {
        // The host went away before the command ended: end the command with it.
        host_gone = true;
        signal_tree(::getpid(), SIGKILL);
      }
    }
    if (fds[0].revents) {
      signalfd_siginfo info;
      while (::read(signal_fd, &info, sizeof info) > 0) {
      }
      int child_status = 0;
      pid_t pid;
      while ((pid = ::waitpid(-1, &child_status, WNOHANG)) > 0) {
        if (pid == command) {
          status = child_status;
          ended = true;
        }
      }
    }
  }
  // The command may have handed over its connection and ended before we read the channel.
  if (conn < 0 && channel[0] >= 0) conn = take_over(channel[0], MSG_DONTWAIT);
  if (conn >= 0 && !host_gone) send_line(conn, "X " + std::to_string(status) + "\n");
  ::_exit(0);
}

// Forks the next shepherd (and through it the next waiting command); -1 when fork fails.
pid_t start_shepherd(int listen_fd, int taken_fd, int leader_fds[2], const CommandPolicy& policy) {
  pid_t pid = ::fork();
  if (pid == 0) {
    for (int i = 0; i < 2; ++i) ::close(leader_fds[i]);
    shepherd(listen_fd, taken_fd, policy);
  }
  return pid;
}

}  // namespace

void run_leader(int listen_fd, const CommandPolicy& policy) {
  sigset_t child_signal;
  sigemptyset(&child_signal);
  sigaddset(&child_signal, SIGCHLD);
  sigprocmask(SIG_BLOCK, &child_signal, nullptr);
  int signal_fd = ::signalfd(-1, &child_signal, SFD_CLOEXEC | SFD_NONBLOCK);
  // Shepherds write their pid here when their command took a request.
  int taken[2];
  if (::pipe2(taken, O_CLOEXEC | O_NONBLOCK) != 0) ::_exit(1);
  int leader_fds[2] = {signal_fd, taken[0]};

  pid_t waiting = start_shepherd(listen_fd, taken[1], leader_fds, policy);
  while (true) {
    // The leader accepts only when it could not fork a waiting pair, to refuse the request.
    pollfd fds[3] = {{signal_fd, POLLIN, 0}, {taken[0], POLLIN, 0}, {waiting < 0 ? listen_fd : -1, POLLIN, 0}};
    if (::poll(fds, 3, -1) < 0) continue;
    if (fds[1].revents) {
      pid_t pid;
      while (::read(taken[0], &pid, sizeof pid) == sizeof pid)
        if (pid == waiting) waiting = -1;
    }
    if (fds[0].revents) {
      signalfd_siginfo info;
      while (::read(signal_fd, &info, sizeof info) > 0) {
      }
      int status;
      pid_t pid;
      // PID 1 duty: reap every zombie, ours or reparented.
      while ((pid = ::waitpid(-1, &status, WNOHANG)) > 0)
        if (pid == waiting) waiting = -1;
    }
    if (waiting < 0) waiting = start_shepherd(listen_fd, taken[1], leader_fds, policy);
    if (waiting < 0 && (fds[2].revents & POLLIN))
      refuse_next_request(listen_fd, std::string("fork: ") + std::strerror(errno));
  }
}

}  // namespace sbx::agent
