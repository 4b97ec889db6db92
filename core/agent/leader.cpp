#include "leader.hpp"

#include "main_command.hpp"
#include "main_slot.hpp"
#include "process_tree.hpp"
#include "shepherd_notice.hpp"

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

// Reads one request: header, payload and its fds (wire::request_fd_count). False on a
// malformed request.
bool receive_request(int fd, wire::ExecMessage& message, int fds[wire::kLaunchFds]) {
  std::uint32_t length = 0;
  char control[CMSG_SPACE(sizeof(int) * wire::kLaunchFds)]{};
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
      std::memcpy(fds, CMSG_DATA(c), sizeof(int) * std::min(received, wire::kLaunchFds));
    }
  }
  auto close_received = [&] {
    for (int i = 0; i < std::min(received, wire::kLaunchFds); ++i) ::close(fds[i]);
  };
  if ((received != wire::kExecFds && received != wire::kLaunchFds) || length == 0 || length > wire::kMaxPayload) {
    close_received();
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
  if (done != length || !wire::decode(payload, message) || received != wire::request_fd_count(message)) {
    close_received();
    return false;
  }
  return true;
}

// What a command process hands its shepherd: the request's connection ('c'), or for a launch
// ('l') the connection and the request's fds (the message itself is left in the memory they
// share).
struct HandedOver {
  char kind = 0;
  int fds[1 + wire::kLaunchFds] = {-1, -1, -1, -1, -1};
  int count = 0;
};

bool hand_over(int channel, char kind, const int* fds, int count) {
  iovec iov{&kind, 1};
  char control[CMSG_SPACE(sizeof(int) * (1 + wire::kLaunchFds))]{};
  msghdr header{};
  header.msg_iov = &iov;
  header.msg_iovlen = 1;
  header.msg_control = control;
  header.msg_controllen = CMSG_SPACE(sizeof(int) * count);
  cmsghdr* cmsg = CMSG_FIRSTHDR(&header);
  cmsg->cmsg_level = SOL_SOCKET;
  cmsg->cmsg_type = SCM_RIGHTS;
  cmsg->cmsg_len = CMSG_LEN(sizeof(int) * count);
  std::memcpy(CMSG_DATA(cmsg), fds, sizeof(int) * count);
  return ::sendmsg(channel, &header, MSG_NOSIGNAL) == 1;
}

// What the command process handed over on `channel`; kind 0 when it sent nothing.
HandedOver take_over(int channel, int flags) {
  HandedOver handed;
  char kind;
  iovec iov{&kind, 1};
  char control[CMSG_SPACE(sizeof(int) * (1 + wire::kLaunchFds))]{};
  msghdr header{};
  header.msg_iov = &iov;
  header.msg_iovlen = 1;
  header.msg_control = control;
  header.msg_controllen = sizeof control;
  ssize_t n;
  do {
    n = ::recvmsg(channel, &header, flags | MSG_CMSG_CLOEXEC);
  } while (n < 0 && errno == EINTR);
  if (n != 1) return handed;
  cmsghdr* cmsg = CMSG_FIRSTHDR(&header);
  if (cmsg == nullptr || cmsg->cmsg_type != SCM_RIGHTS) return handed;
  handed.count = std::min(static_cast<int>((cmsg->cmsg_len - CMSG_LEN(0)) / sizeof(int)), 1 + wire::kLaunchFds);
  std::memcpy(handed.fds, CMSG_DATA(cmsg), sizeof(int) * handed.count);
  handed.kind = kind;
  return handed;
}

struct WaitingCommand {
  int listen_fd;
  int channel;
  int shepherd_fds[3];  // not the command's: closed in its (unshared) fd table
  const CommandPolicy* policy;
  wire::ExecMessage* launch;  // where a launch's message is left for the shepherd
};

// The waiting command process: it is already forked and parked in accept(), so a request
// starts the command without first waking the leader and forking twice. It takes one request,
// gives the connection to its shepherd and becomes the command.
[[noreturn]] void serve_one_request(const WaitingCommand& waiting) {
  int conn = accept_connection(waiting.listen_fd);
  if (conn < 0) ::_exit(1);
  ::close(waiting.listen_fd);
  if (waiting.policy->host_clients_only && !client_outside_pid_namespace(conn)) {
    send_line(conn, "E refused: the agent serves only the host, not processes inside the sandbox\n");
    ::_exit(1);
  }
  set_receive_timeout(conn, 5);  // a stalled client must not hold the sandbox's exec slot for long
  wire::ExecMessage message;
  int stdio[wire::kLaunchFds] = {-1, -1, -1, -1};
  if (!receive_request(conn, message, stdio)) {
    send_line(conn, "E malformed exec request\n");
    ::_exit(1);
  }
  set_receive_timeout(conn, 0);
  if (message.launch) {
    // A launch must wait until the previous main command is gone, and the shepherd can do
    // nothing while this vfork-style child borrows its memory: hand it the whole request
    // (the message through that shared memory) and get out of its way.
    *waiting.launch = std::move(message);
    int fds[1 + wire::kLaunchFds] = {conn, stdio[0], stdio[1], stdio[2], stdio[3]};
    if (!hand_over(waiting.channel, 'l', fds, 1 + wire::kLaunchFds))
      send_line(conn, std::string("E hand the launch to its shepherd: ") + std::strerror(errno) + "\n");
    ::_exit(0);
  }
  if (!hand_over(waiting.channel, 'c', &conn, 1)) {
    send_line(conn, std::string("E hand the request to its shepherd: ") + std::strerror(errno) + "\n");
    ::_exit(1);
  }
  ::close(waiting.channel);
  ::close(conn);
  sigset_t none;
  sigemptyset(&none);
  ::sigprocmask(SIG_SETMASK, &none, nullptr);
  for (int i = 0; i < 3; ++i)
    if (::dup2(stdio[i], i) < 0) ::_exit(126);
  for (int i = 0; i < 3; ++i)
    if (stdio[i] > 2) ::close(stdio[i]);
  run_command(message, *waiting.policy);
}

int run_waiting_command(void* argument) {
  auto* waiting = static_cast<WaitingCommand*>(argument);
  for (int fd : waiting->shepherd_fds) ::close(fd);
  serve_one_request(*waiting);
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
// When the request is a launch, it becomes that launch's shepherd instead (main_command.hpp).
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
  wire::ExecMessage launch_message;
  WaitingCommand waiting{listen_fd, channel[1], {signal_fd, taken_fd, channel[0]}, &policy, &launch_message};
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
  // Takes what the command process handed over: an exec's connection, or a launch, which
  // this shepherd then carries out instead.
  auto take = [&](int flags) {
    HandedOver handed = take_over(channel[0], flags);
    ::close(channel[0]);
    channel[0] = -1;
    if (handed.kind == 'l' && handed.count == 1 + wire::kLaunchFds) {
      ::close(signal_fd);
      LaunchRequest launch{UniqueFd(handed.fds[0]), UniqueFd(handed.fds[1]), UniqueFd(handed.fds[2]),
                           UniqueFd(handed.fds[3]), UniqueFd(handed.fds[4]), std::move(launch_message)};
      run_main_command(std::move(launch), taken_fd, policy);
    }
    if (handed.kind == 'c' && handed.count == 1) {
      conn = handed.fds[0];
      ShepherdNotice notice{::getpid(), 0, 0};
      (void)!::write(taken_fd, &notice, sizeof notice);
      return;
    }
    for (int i = 0; i < handed.count; ++i) ::close(handed.fds[i]);  // not what was handed over
  };
  bool host_gone = false;
  std::string input;
  int status = 0;
  bool ended = false;
  while (!ended) {
    int watched = conn >= 0 ? (host_gone ? -1 : conn) : channel[0];
    pollfd fds[2] = {{signal_fd, POLLIN, 0}, {watched, POLLIN, 0}};
    if (::poll(fds, 2, -1) < 0) continue;
    if (fds[1].revents && conn < 0 && channel[0] >= 0) {
      take(0);
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
  // The command process may have handed over and ended before we read the channel.
  if (conn < 0 && channel[0] >= 0) take(MSG_DONTWAIT);
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
  sigset_t blocked;
  sigemptyset(&blocked);
  sigaddset(&blocked, SIGCHLD);
  // Blocked here so that every shepherd inherits them blocked and reads them on a signalfd.
  sigaddset(&blocked, kStartMainSignal);
  sigaddset(&blocked, kAbortMainSignal);
  sigprocmask(SIG_BLOCK, &blocked, nullptr);
  sigset_t child_signal;
  sigemptyset(&child_signal);
  sigaddset(&child_signal, SIGCHLD);
  int signal_fd = ::signalfd(-1, &child_signal, SFD_CLOEXEC | SFD_NONBLOCK);
  // Shepherds send a ShepherdNotice here when their command took a request.
  int taken[2];
  if (::pipe2(taken, O_CLOEXEC | O_NONBLOCK) != 0) ::_exit(1);
  int leader_fds[2] = {signal_fd, taken[0]};
  MainSlot main_slot;

  pid_t waiting = start_shepherd(listen_fd, taken[1], leader_fds, policy);
  while (true) {
    // The leader accepts only when it could not fork a waiting pair, to refuse the request.
    pollfd fds[3] = {{signal_fd, POLLIN, 0}, {taken[0], POLLIN, 0}, {waiting < 0 ? listen_fd : -1, POLLIN, 0}};
    if (::poll(fds, 3, main_slot.poll_timeout_ms()) < 0) continue;
    if (fds[1].revents) {
      ShepherdNotice notice;
      while (::read(taken[0], &notice, sizeof notice) == sizeof notice) {
        if (notice.shepherd == waiting) waiting = -1;
        if (notice.launch) main_slot.queue(notice.shepherd, notice.stop_grace_ms);
      }
    }
    if (fds[0].revents) {
      signalfd_siginfo info;
      while (::read(signal_fd, &info, sizeof info) > 0) {
      }
      int status;
      pid_t pid;
      // PID 1 duty: reap every zombie, ours or reparented.
      while ((pid = ::waitpid(-1, &status, WNOHANG)) > 0) {
        if (pid == waiting) waiting = -1;
        main_slot.reaped(pid);
      }
    }
    main_slot.advance();
    if (waiting < 0) waiting = start_shepherd(listen_fd, taken[1], leader_fds, policy);
    if (waiting < 0 && (fds[2].revents & POLLIN))
      refuse_next_request(listen_fd, std::string("fork: ") + std::strerror(errno));
  }
}

}  // namespace sbx::agent
