#include "leader.hpp"

#include "process_tree.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <map>
#include <string>
#include <vector>

namespace sbx::subcontainer::helper {
namespace {

const int kKillRequest = SIGRTMIN;

struct Connection {
  int fd = -1;        // -1 once the host closed its end
  std::string input;  // partial "K <sig>" lines
};

void send_line(int fd, const std::string& line) {
  (void)!::send(fd, line.data(), line.size(), MSG_NOSIGNAL);
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

// Runs in the shepherd: forks the command, reaps everything reparented to it, carries out
// kill requests (SIGRTMIN from the leader, the signal number as its value), reports the
// command's status on `conn` and exits. Both signals are already blocked (inherited from the
// leader), so a kill that arrives before the command exists waits until it does.
[[noreturn]] void shepherd(int conn, const wire::ExecMessage& message, const int stdio[3],
                           const CommandPolicy& policy) {
  ::prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0);
  sigset_t handled;
  sigemptyset(&handled);
  sigaddset(&handled, SIGCHLD);
  sigaddset(&handled, kKillRequest);
  int signal_fd = ::signalfd(-1, &handled, SFD_CLOEXEC);
  pid_t command = ::fork();
  if (command < 0) {
    send_line(conn, std::string("E fork: ") + std::strerror(errno) + "\n");
    ::_exit(1);
  }
  if (command == 0) {
    sigset_t none;
    sigemptyset(&none);
    ::sigprocmask(SIG_SETMASK, &none, nullptr);
    ::close(conn);
    for (int i = 0; i < 3; ++i)
      if (::dup2(stdio[i], i) < 0) ::_exit(126);
    for (int i = 0; i < 3; ++i)
      if (stdio[i] > 2) ::close(stdio[i]);
    run_command(message, policy);
  }
  for (int i = 0; i < 3; ++i) ::close(stdio[i]);
  int status = 0;
  bool ended = false;
  while (!ended) {
    signalfd_siginfo info;
    if (::read(signal_fd, &info, sizeof info) != sizeof info) {
      if (errno == EINTR) continue;
      break;
    }
    if (static_cast<int>(info.ssi_signo) == kKillRequest) {
      signal_tree(::getpid(), info.ssi_int);
      continue;
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
  send_line(conn, "X " + std::to_string(status) + "\n");
  ::_exit(0);
}

// Asks a shepherd to signal its command's tree.
void request_kill(pid_t shepherd_pid, int signal) {
  sigval value{};
  value.sival_int = signal;
  ::sigqueue(shepherd_pid, kKillRequest, value);
}

}  // namespace

void run_leader(int listen_fd, const CommandPolicy& policy) {
  sigset_t child_signals;
  sigemptyset(&child_signals);
  sigaddset(&child_signals, SIGCHLD);
  sigaddset(&child_signals, kKillRequest);
  sigprocmask(SIG_BLOCK, &child_signals, nullptr);
  int signal_fd = ::signalfd(-1, &child_signals, SFD_CLOEXEC | SFD_NONBLOCK);
  std::map<pid_t, Connection> running;  // by shepherd pid

  while (true) {
    std::vector<pollfd> fds{{listen_fd, POLLIN, 0}, {signal_fd, POLLIN, 0}};
    std::vector<pid_t> owners;
    for (auto& [shepherd_pid, connection] : running) {
      if (connection.fd < 0) continue;
      fds.push_back({connection.fd, POLLIN, 0});
      owners.push_back(shepherd_pid);
    }
    if (::poll(fds.data(), fds.size(), -1) < 0) continue;

    for (std::size_t i = 2; i < fds.size(); ++i) {
      if (!fds[i].revents) continue;
      Connection& connection = running[owners[i - 2]];
      char buffer[256];
      ssize_t n = ::recv(connection.fd, buffer, sizeof buffer, MSG_DONTWAIT);
      if (n < 0 && (errno == EAGAIN || errno == EINTR)) continue;
      if (n <= 0) {
        // The host went away before the command ended: end the command with it.
        request_kill(owners[i - 2], SIGKILL);
        ::close(connection.fd);
        connection.fd = -1;
        continue;
      }
      connection.input.append(buffer, static_cast<std::size_t>(n));
      std::size_t newline;
      while ((newline = connection.input.find('\n')) != std::string::npos) {
        std::string line = connection.input.substr(0, newline);
        connection.input.erase(0, newline + 1);
        if (line.size() > 2 && line[0] == 'K') request_kill(owners[i - 2], std::atoi(line.c_str() + 2));
      }
    }

    if (fds[1].revents) {
      signalfd_siginfo info;
      while (::read(signal_fd, &info, sizeof info) > 0) {
      }
      int status;
      pid_t pid;
      // PID 1 duty: reap every zombie, ours or reparented.
      while ((pid = ::waitpid(-1, &status, WNOHANG)) > 0) {
        auto it = running.find(pid);
        if (it == running.end()) continue;
        if (it->second.fd >= 0) ::close(it->second.fd);
        running.erase(it);
      }
    }

    if (fds[0].revents & POLLIN) {
      int conn = ::accept4(listen_fd, nullptr, nullptr, SOCK_CLOEXEC);
      if (conn < 0) continue;
      timeval limit{5, 0};  // a stalled client must not block the leader for long
      ::setsockopt(conn, SOL_SOCKET, SO_RCVTIMEO, &limit, sizeof limit);
      wire::ExecMessage message;
      int stdio[3] = {-1, -1, -1};
      if (!receive_request(conn, message, stdio)) {
        send_line(conn, "E malformed exec request\n");
        ::close(conn);
        continue;
      }
      pid_t pid = ::fork();
      if (pid == 0) {
        ::close(listen_fd);
        ::close(signal_fd);
        for (auto& [other, connection] : running)
          if (connection.fd >= 0) ::close(connection.fd);
        shepherd(conn, message, stdio, policy);
      }
      for (int i = 0; i < 3; ++i) ::close(stdio[i]);
      if (pid < 0) {
        send_line(conn, std::string("E fork: ") + std::strerror(errno) + "\n");
        ::close(conn);
        continue;
      }
      timeval none{0, 0};
      ::setsockopt(conn, SOL_SOCKET, SO_RCVTIMEO, &none, sizeof none);
      running[pid] = Connection{conn, {}};
    }
  }
}

}  // namespace sbx::subcontainer::helper
