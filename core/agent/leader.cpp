#include "leader.hpp"

#include "main_command.hpp"
#include "main_slot.hpp"
#include "process_tree.hpp"
#include "shepherd_notice.hpp"
#include "user_lookup.hpp"

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

struct CommandStart {
  const wire::ExecMessage* message;
  const int* stdio;
  const CommandPolicy* policy;
  const PreparedUser* user;
};

// The command process, from its clone to its exec. Every fd of the shepherd is close-on-exec.
int start_command(void* argument) {
  const auto* start = static_cast<const CommandStart*>(argument);
  sigset_t none;
  sigemptyset(&none);
  ::sigprocmask(SIG_SETMASK, &none, nullptr);
  for (int i = 0; i < 3; ++i)
    if (::dup2(start->stdio[i], i) < 0) ::_exit(126);
  run_command(*start->message, *start->policy, start->user);
}

// What a shepherd readies while it waits, so that a request finds it done: the stack the
// command process starts on (its top pages already faulted in) and the default user's lookup.
struct Readied {
  static constexpr std::size_t kStackSize = 256 * 1024;
  static constexpr std::size_t kWarmSize = 32 * 1024;
  void* stack = MAP_FAILED;
  PreparedUser user;

  explicit Readied(const CommandPolicy& policy) {
    stack = ::mmap(nullptr, kStackSize, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK, -1, 0);
    if (stack != MAP_FAILED) std::memset(static_cast<char*>(stack) + kStackSize - kWarmSize, 0, kWarmSize);
    user.prepare(policy.default_user);
  }
};

// Starts the command of an exec request; -1 with errno when it cannot.
// CLONE_VM|CLONE_VFORK, as posix_spawn does: the command process borrows this address space
// until it execs, so no page tables are copied on the way in nor torn down at exec. The
// shepherd sleeps (uninterruptibly) only for that short moment, never while it waits for a
// request: an idle sandbox has no task in D state and adds nothing to the load average.
pid_t spawn_command(const wire::ExecMessage& message, const int stdio[3], const CommandPolicy& policy,
                    const Readied& readied) {
  if (readied.stack == MAP_FAILED) return -1;
  CommandStart start{&message, stdio, &policy, &readied.user};
  return ::clone(start_command, static_cast<char*>(readied.stack) + Readied::kStackSize,
                 CLONE_VM | CLONE_VFORK | SIGCHLD, &start);
}

// A subreaper for one request, forked ahead by the leader and parked in accept(): a request
// wakes only it. It tells the leader (via `taken_fd`) to fork the next shepherd, reads the
// request, starts the command, carries out the host's kill requests, reaps everything
// reparented to it, reports the command's status on the connection and exits. SIGCHLD is
// already blocked (inherited). When the request is a launch, it becomes that launch's
// shepherd instead (main_command.hpp).
[[noreturn]] void shepherd(int listen_fd, int taken_fd, const CommandPolicy& policy) {
  ::prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0);
  sigset_t child_signal;
  sigemptyset(&child_signal);
  sigaddset(&child_signal, SIGCHLD);
  int signal_fd = ::signalfd(-1, &child_signal, SFD_CLOEXEC | SFD_NONBLOCK);
  int signal_error = errno;
  Readied readied(policy);

  int conn = accept_connection(listen_fd);
  if (conn < 0) ::_exit(1);
  ::close(listen_fd);
  ShepherdNotice taken{::getpid(), 0, 0};
  (void)!::write(taken_fd, &taken, sizeof taken);
  if (policy.host_clients_only && !client_outside_pid_namespace(conn)) {
    send_line(conn, "E refused: the agent serves only the host, not processes inside the sandbox\n");
    ::_exit(1);
  }
  set_receive_timeout(conn, 5);  // a stalled client must not hold a shepherd for long
  wire::ExecMessage message;
  int stdio[wire::kLaunchFds] = {-1, -1, -1, -1};
  if (!receive_request(conn, message, stdio)) {
    send_line(conn, "E malformed exec request\n");
    ::_exit(1);
  }
  set_receive_timeout(conn, 0);
  if (message.launch) {
    ::close(signal_fd);  // the launch's shepherd makes its own, for more signals
    LaunchRequest launch{UniqueFd(conn), UniqueFd(stdio[0]), UniqueFd(stdio[1]), UniqueFd(stdio[2]),
                         UniqueFd(stdio[3]), std::move(message)};
    run_main_command(std::move(launch), taken_fd, policy);
  }
  ::close(taken_fd);

  if (signal_fd < 0) {
    send_line(conn, std::string("E signalfd: ") + std::strerror(signal_error) + "\n");
    ::_exit(1);
  }
  pid_t command = spawn_command(message, stdio, policy, readied);
  if (command < 0) {
    send_line(conn, std::string("E fork: ") + std::strerror(errno) + "\n");
    ::_exit(1);
  }
  for (int i = 0; i < 3; ++i) ::close(stdio[i]);

  bool host_gone = false;
  std::string input;
  int status = 0;
  bool ended = false;
  while (!ended) {
    pollfd fds[2] = {{signal_fd, POLLIN, 0}, {host_gone ? -1 : conn, POLLIN, 0}};
    if (::poll(fds, 2, -1) < 0) continue;
    if (fds[1].revents && !handle_host_input(conn, input)) {
      // The host went away before the command ended: end the command with it.
      host_gone = true;
      signal_tree(::getpid(), SIGKILL);
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
  if (!host_gone) send_line(conn, "X " + std::to_string(status) + "\n");
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
  if (!leader_confined()) ::_exit(1);
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
