#include "leader.hpp"

#include "command_pid_namespace.hpp"
#include "command_pty.hpp"
#include "fd_passing.hpp"
#include "lifetime.hpp"
#include "loopback_connect.hpp"
#include "main_command.hpp"
#include "main_slot.hpp"
#include "process_tree.hpp"
#include "sandbox_stop.hpp"
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
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <string>
#include <vector>

namespace hutch::agent {
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
  // How many fds the request must carry is known once it is decoded (below).
  if (length == 0 || length > wire::kMaxPayload) {
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
    if (line.size() > 2 && line[0] == 'K') {
      const int signal = std::atoi(line.c_str() + 2);
      if (signal == SIGKILL) send_line(conn, "k\n");
      signal_tree(::getpid(), signal);
    }
  }
  return true;
}

// How long after its start a command that still runs is reported started ("S", wire.hpp).
constexpr std::int64_t kStartReportDelayMs = 20;

std::int64_t monotonic_ms() {
  timespec now{};
  ::clock_gettime(CLOCK_MONOTONIC, &now);
  return static_cast<std::int64_t>(now.tv_sec) * 1000 + now.tv_nsec / 1000000;
}

// A shepherd's memory, shared with its command process until the exec (CLONE_VM).
struct CommandStart {
  const PreparedCommand* command;
  const int* stdio;
  const CommandPolicy* policy;
  volatile bool failed_before_exec;
};

// The command process, from its clone to its exec. Every fd of the shepherd is close-on-exec.
int start_command(void* argument) {
  auto* start = static_cast<CommandStart*>(argument);
  sigset_t none;
  sigemptyset(&none);
  ::sigprocmask(SIG_SETMASK, &none, nullptr);
  // In a pid namespace below the shepherd's, an orphan goes to the nearest subreaper of its own
  // namespace, never to the shepherd: the command is that subreaper, so what it double-forks
  // stays in its tree (and in reach of the host's kill) while it runs.
  if (start->policy->command_pid_namespace >= 0) ::prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0);
  for (int i = 0; i < 3; ++i) {
    if (::dup2(start->stdio[i], i) < 0) {
      start->failed_before_exec = true;
      ::_exit(126);
    }
  }
  exec_prepared(*start->command, *start->policy, &start->failed_before_exec);
}

// The stack a shepherd's command processes start on, its top pages faulted in once.
class CommandStack {
 public:
  static constexpr std::size_t kSize = 256 * 1024;
  CommandStack() {
    void* base = ::mmap(nullptr, kSize, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK, -1, 0);
    if (base == MAP_FAILED) return;
    base_ = static_cast<char*>(base);
    // One call rather than a fault per page (a fault is tens of microseconds on some VMs);
    // kernels before 5.14 lack MADV_POPULATE_WRITE and get the faults.
    if (::madvise(base_ + kSize - kWarmSize, kWarmSize, kPopulateWrite) != 0)
      std::memset(base_ + kSize - kWarmSize, 0, kWarmSize);
  }
  CommandStack(const CommandStack&) = delete;
  CommandStack& operator=(const CommandStack&) = delete;
  ~CommandStack() {
    if (base_) ::munmap(base_, kSize);
  }
  char* top() const { return base_ ? base_ + kSize : nullptr; }

 private:
  static constexpr std::size_t kWarmSize = 32 * 1024;
  static constexpr int kPopulateWrite = 23;  // MADV_POPULATE_WRITE, missing from glibc 2.36's headers
  char* base_ = nullptr;
};

// Starts a prepared command; -1 with errno when it cannot.
// CLONE_VM|CLONE_VFORK, as posix_spawn does: the command process borrows this address space
// until it execs, so no page tables are copied on the way in nor torn down at exec. The
// shepherd sleeps (uninterruptibly) only for that short moment, never while it waits for a
// request: an idle sandbox has no task in D state and adds nothing to the load average.
pid_t spawn_command(CommandStart& start, const CommandStack& stack) {
  if (stack.top() == nullptr) {
    errno = ENOMEM;
    return -1;
  }
  return ::clone(start_command, stack.top(), CLONE_VM | CLONE_VFORK | SIGCHLD, &start);
}

void notify_leader(int notice_fd, ShepherdNotice::Kind kind) {
  ShepherdNotice notice{::getpid(), kind};
  (void)!::write(notice_fd, &notice, sizeof notice);
}

// Waits for a connection, or for the leader to retire this shepherd (-1).
int next_connection(int listen_fd, int retire_fd) {
  while (true) {
    pollfd fds[2] = {{retire_fd, POLLIN, 0}, {listen_fd, POLLIN, 0}};
    if (::poll(fds, 2, -1) < 0) continue;
    if (fds[0].revents) return -1;
    int conn = accept_connection(listen_fd);
    if (conn >= 0) return conn;
    if (errno != EAGAIN && errno != EWOULDBLOCK) return -1;  // another shepherd took it
  }
}

// Runs one exec request on `conn` to its end: the command's wait status goes back as "X".
// True (and the leader told so) when this shepherd may serve another request: the command
// left nothing running (its leftovers would share a later command's tree and its kill) and
// allocated nothing here.
bool serve_exec(int conn, const wire::ExecMessage& message, int stdio[3], const CommandPolicy& policy,
                int signal_fd, int notice_fd, const CommandStack& stack, const PreparedUser& user) {
  PreparedCommand command;
  prepare_command(message, policy, &user, command);
  CommandPty pty;
  if (message.tty) {
    // A tty request carries no fds: the terminal's slave is the command's stdio.
    if (std::string error = open_command_pty(message.tty_cols, message.tty_rows, pty); !error.empty()) {
      send_line(conn, "E " + error + "\n");
      return false;
    }
    for (int i = 0; i < 3; ++i) stdio[i] = pty.slave.get();
  }
  CommandStart start{&command, stdio, &policy, false};
  pid_t pid = spawn_command(start, stack);
  int spawn_error = errno;
  if (!message.tty)
    for (int i = 0; i < 3; ++i) ::close(stdio[i]);
  pty.slave.reset();
  if (pid < 0) {
    send_line(conn, std::string("E fork: ") + std::strerror(spawn_error) + "\n");
    return false;
  }
  if (pty.master) {
    // Before "S" and "X": the host reads the command's output from it.
    (void)send_pty_master(conn, pty.master.get());
    pty.master.reset();
  }

  bool host_gone = false;
  std::string input;
  int status = 0;
  bool ended = false;
  // "S" (started) goes out only for a command still running kStartReportDelayMs after its
  // start: for a short one, "X" says it too, and the host is spared a wakeup.
  bool start_reported = false;
  const std::int64_t report_start_at = monotonic_ms() + kStartReportDelayMs;
  while (!ended) {
    pollfd fds[2] = {{signal_fd, POLLIN, 0}, {host_gone ? -1 : conn, POLLIN, 0}};
    const int wait_ms = start_reported ? -1 : static_cast<int>(std::max<std::int64_t>(0, report_start_at - monotonic_ms()));
    const int ready = ::poll(fds, 2, wait_ms);
    if (ready < 0) continue;
    if (ready == 0 && !start_reported) {
      start_reported = true;
      if (!host_gone) send_line(conn, "S\n");
      continue;
    }
    if (fds[1].revents && !handle_host_input(conn, input)) {
      // The host went away before the command ended: end the command with it.
      host_gone = true;
      signal_tree(::getpid(), SIGKILL);
    }
    if (fds[0].revents) {
      signalfd_siginfo info;
      while (::read(signal_fd, &info, sizeof info) > 0) {
      }
      if (reap_children(pid, status)) ended = true;
    }
  }
  pid_t left;
  while ((left = ::waitpid(-1, nullptr, WNOHANG)) > 0) {
  }
  bool has_children = left == 0;
  bool reusable = !host_gone && !start.failed_before_exec && !has_children;
  // Free before the status goes out: the host's next request must find this shepherd
  // counted free, or the leader would fork another for it.
  if (reusable) notify_leader(notice_fd, ShepherdNotice::Kind::free);
  if (!host_gone) send_line(conn, "X " + std::to_string(status) + "\n");
  return reusable;
}

// A connect request (wire.hpp): the connection, made here in the sandbox's network namespace,
// goes to the host, which owns it from then on.
void serve_connect(int conn, std::uint32_t port, int notice_fd) {
  LoopbackConnection connection = connect_loopback(port);
  // Free again before the answer goes out, as after a command.
  notify_leader(notice_fd, ShepherdNotice::Kind::free);
  if (connection.socket)
    (void)send_line_with_fd(conn, "P\n", connection.socket.get());
  else
    send_line(conn, "E " + connection.error + "\n");
}

// A subreaper that serves requests one at a time, forked by the leader and parked in
// accept(): a request wakes only it. It tells the leader when it takes a request and when it
// is free again (the leader keeps one free shepherd and forks another only when none is),
// prepares the command, starts it, carries out the host's kill requests, reaps everything
// reparented to it and reports the command's status on the connection. A command that left
// something running ends the shepherd, so its leftovers go to the leader and no later
// command shares their tree (in a commands' pid namespace they go to its init at once).
// SIGCHLD and kRetireSignal are already blocked (inherited).
// When the request is a launch, it becomes that launch's shepherd instead (main_command.hpp).
[[noreturn]] void shepherd(int listen_fd, int notice_fd, const CommandPolicy& policy, const PreparedUser& looked_up) {
  // A command process shares this memory from its clone to its exec (CLONE_VM), after it has
  // taken the command's user and capabilities: a dumpable memory map would then be open to
  // /proc/<pid>/mem of any sandboxed process with those same credentials, which could rewrite
  // this shepherd. Dumpability belongs to the memory map, so this covers that window too;
  // the exec gives the command a map of its own, dumpable as usual.
  if (::prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) != 0) ::_exit(1);
  if (!join_command_pid_namespace(policy)) ::_exit(1);
  if (policy.shepherd_uid && ::setresuid(*policy.shepherd_uid, 0, *policy.shepherd_uid) != 0) ::_exit(1);
  ::prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0);
  sigset_t child_signal, retire_signal;
  sigemptyset(&child_signal);
  sigaddset(&child_signal, SIGCHLD);
  sigemptyset(&retire_signal);
  sigaddset(&retire_signal, kRetireSignal);
  int signal_fd = ::signalfd(-1, &child_signal, SFD_CLOEXEC | SFD_NONBLOCK);
  int retire_fd = ::signalfd(-1, &retire_signal, SFD_CLOEXEC | SFD_NONBLOCK);
  if (signal_fd < 0 || retire_fd < 0) ::_exit(1);  // the leader forks another when asked
  // Readied while idle, so that a request finds them done. The user was looked up by the
  // leader before the fork: reading it here costs no copy-on-write faults, as parsing would.
  CommandStack stack;
  PreparedUser user = looked_up;
  user.refresh();

  while (true) {
    int conn = next_connection(listen_fd, retire_fd);
    if (conn < 0) ::_exit(0);
    notify_leader(notice_fd, ShepherdNotice::Kind::took);
    wire::ExecMessage message;
    int stdio[wire::kLaunchFds] = {-1, -1, -1, -1};
    if (policy.host_clients_only && !client_outside_pid_namespace(conn)) {
      send_line(conn, "E refused: the agent serves only the host, not processes inside the sandbox\n");
      ::_exit(1);
    }
    set_receive_timeout(conn, 5);  // a stalled client must not hold a shepherd for long
    if (!receive_request(conn, message, stdio)) {
      send_line(conn, "E malformed exec request\n");
      ::_exit(1);
    }
    set_receive_timeout(conn, 0);
    if (wire::is_control(message)) {
      serve_control_request(conn, message, notice_fd);
      ::close(conn);
      continue;
    }
    if (wire::is_connect(message)) {
      serve_connect(conn, message.connect_port, notice_fd);
      ::close(conn);
      continue;
    }
    if (message.launch) {
      ::close(listen_fd);
      ::close(signal_fd);  // the launch's shepherd makes its own, for more signals
      ::close(retire_fd);
      LaunchRequest launch{UniqueFd(conn), UniqueFd(stdio[0]), UniqueFd(stdio[1]), UniqueFd(stdio[2]),
                           UniqueFd(stdio[3]), std::move(message)};
      run_main_command(std::move(launch), notice_fd, policy);
    }
    bool reusable = serve_exec(conn, message, stdio, policy, signal_fd, notice_fd, stack, user);
    ::close(conn);
    if (!reusable) ::_exit(0);
    user.refresh();
  }
}

// Forks a shepherd; -1 when fork fails.
pid_t start_shepherd(int listen_fd, int notice_fd, const int leader_fds[2], const CommandPolicy& policy,
                     const PreparedUser& user) {
  pid_t pid = ::fork();
  if (pid == 0) {
    for (int i = 0; i < 2; ++i) ::close(leader_fds[i]);
    shepherd(listen_fd, notice_fd, policy, user);
  }
  return pid;
}

}  // namespace

void run_leader(int listen_fd, const CommandPolicy& policy, int ready_fd) {
  if (!leader_confined()) ::_exit(1);
  sigset_t blocked;
  sigemptyset(&blocked);
  sigaddset(&blocked, SIGCHLD);
  // Blocked here so that every shepherd inherits them blocked and reads them on a signalfd.
  sigaddset(&blocked, kStartMainSignal);
  sigaddset(&blocked, kAbortMainSignal);
  sigaddset(&blocked, kRetireSignal);
  // The host's stop (sandbox_stop.hpp). Shepherds keep it blocked: they outlive the SIGTERM
  // that every process gets, to report their command's end.
  sigaddset(&blocked, SIGTERM);
  sigprocmask(SIG_BLOCK, &blocked, nullptr);
  sigset_t leader_signals;
  sigemptyset(&leader_signals);
  sigaddset(&leader_signals, SIGCHLD);
  sigaddset(&leader_signals, SIGTERM);
  int signal_fd = ::signalfd(-1, &leader_signals, SFD_CLOEXEC | SFD_NONBLOCK);
  // Free shepherds poll the socket and then accept: whichever loses the race must get EAGAIN,
  // not block.
  ::fcntl(listen_fd, F_SETFL, ::fcntl(listen_fd, F_GETFL) | O_NONBLOCK);
  // Shepherds send ShepherdNotices here.
  int notices[2];
  if (::pipe2(notices, O_CLOEXEC | O_NONBLOCK) != 0) ::_exit(1);
  // Closed in every shepherd: only the leader reads its signals and notices.
  int leader_fds[2] = {signal_fd, notices[0]};
  MainSlot main_slot;
  // The shepherds parked in accept(). One is kept ready; a new one is forked only when none
  // is free, so a command never shares the CPU with the fork of its successor, and requests
  // in a row are served by the same shepherd without any fork.
  std::vector<pid_t> free_shepherds;
  std::vector<pid_t> shepherds;  // every one alive, busy or free
  std::vector<pid_t> busy;       // serving a host call (not the main command's)
  SandboxStop stop;
  Lifetime lifetime;
  lifetime.set(policy.ttl_deadline_ms, policy.idle_timeout_ms);
  // Looked up once here, refreshed by each shepherd when the files changed.
  PreparedUser default_user;
  auto fork_shepherd = [&] {
    if (stop.begun()) return false;
    pid_t pid = start_shepherd(listen_fd, notices[1], leader_fds, policy, default_user);
    if (pid > 0) {
      free_shepherds.push_back(pid);
      shepherds.push_back(pid);
    }
    return pid > 0;
  };
  auto forget = [&](pid_t pid) { std::erase(free_shepherds, pid); };

  // Ready before the first shepherd exists: the host goes on at once, and the fork (page
  // tables copied, then copy-on-write faults) and the shepherd's warm-up overlap what the host
  // does before its first request. A request that comes first waits in the socket's backlog.
  if (ready_fd >= 0) {
    (void)!::write(ready_fd, "OK\n", 3);
    ::close(ready_fd);
  }
  default_user.prepare(policy.default_user);
  fork_shepherd();
  while (true) {
    // With no free shepherd, a waiting connection asks for one.
    pollfd fds[3] = {{signal_fd, POLLIN, 0},
                     {notices[0], POLLIN, 0},
                     {free_shepherds.empty() && !stop.begun() ? listen_fd : -1, POLLIN, 0}};
    int wait = -1;
    for (int part : {main_slot.poll_timeout_ms(), stop.poll_timeout_ms(), stop.begun() ? -1 : lifetime.poll_timeout_ms()})
      if (part >= 0) wait = wait < 0 ? part : std::min(wait, part);
    if (::poll(fds, 3, wait) < 0) continue;
    if (fds[1].revents) {
      ShepherdNotice notice;
      while (::read(notices[0], &notice, sizeof notice) == sizeof notice) {
        switch (notice.kind) {
          case ShepherdNotice::Kind::took:
            forget(notice.shepherd);
            busy.push_back(notice.shepherd);
            break;
          case ShepherdNotice::Kind::lifetime:
            lifetime.set(notice.ttl_deadline_ms, notice.idle_timeout_ms);
            break;
          case ShepherdNotice::Kind::free:
            std::erase(busy, notice.shepherd);
            // One free shepherd is enough; the others (left from concurrent requests) go.
            if (free_shepherds.empty())
              free_shepherds.push_back(notice.shepherd);
            else
              ::kill(notice.shepherd, kRetireSignal);
            break;
          case ShepherdNotice::Kind::launch:
            std::erase(busy, notice.shepherd);
            main_slot.queue(notice.shepherd, notice.stop_grace_ms);
            break;
        }
      }
      lifetime.calls_in_progress(busy.size());
    }
    if (fds[0].revents) {
      signalfd_siginfo info;
      while (::read(signal_fd, &info, sizeof info) > 0) {
        // Only from outside the sandbox (a pid this namespace cannot see reads as 0): a process
        // inside must not end the sandbox it runs in.
        if (info.ssi_signo == SIGTERM && info.ssi_pid == 0) stop.begin(policy.stop_grace_ms, shepherds);
      }
      int status;
      pid_t pid;
      // PID 1 duty: reap every zombie, ours or reparented.
      while ((pid = ::waitpid(-1, &status, WNOHANG)) > 0) {
        // Without it, no command could start any more (command_pid_namespace.hpp); in a stop,
        // it ends once the commands are gone.
        if (pid == policy.command_pid_namespace_init && !stop.begun()) ::_exit(1);
        forget(pid);
        std::erase(shepherds, pid);
        if (std::erase(busy, pid) != 0) lifetime.calls_in_progress(busy.size());
        main_slot.reaped(pid);
      }
      // A shepherd that could not be reused is gone: have the next one ready.
      if (free_shepherds.empty()) fork_shepherd();
    }
    if (const char* why = stop.begun() ? nullptr : lifetime.expired()) {
      record_expiry(policy.expiry_fd, why);
      stop.begin(policy.stop_grace_ms, shepherds);
    }
    if (stop.advance()) ::_exit(0);
    main_slot.advance();
    if (free_shepherds.empty() && (fds[2].revents & POLLIN) && !fork_shepherd())
      refuse_next_request(listen_fd, std::string("fork: ") + std::strerror(errno));
  }
}

}  // namespace hutch::agent
