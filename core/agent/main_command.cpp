#include "main_command.hpp"

#include "capped_log.hpp"
#include "main_process.hpp"
#include "process_tree.hpp"
#include "shepherd_notice.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <ctime>
#include <string>

namespace hutch::agent {
namespace {

// After the command ended and its leftovers were killed, output is drained while it comes.
constexpr int kDrainIdleMs = 1000;

std::int64_t unix_ms() {
  timespec now{};
  ::clock_gettime(CLOCK_REALTIME, &now);
  return static_cast<std::int64_t>(now.tv_sec) * 1000 + now.tv_nsec / 1000000;
}

void send_line(int fd, const std::string& line) { (void)!::send(fd, line.data(), line.size(), MSG_NOSIGNAL); }

void record(int status_fd, const std::string& line) { (void)!::write(status_fd, line.data(), line.size()); }

// Blocks until the leader says start (true) or abort (false), reaping meanwhile.
bool wait_for_turn(int signal_fd) {
  while (true) {
    pollfd fds{signal_fd, POLLIN, 0};
    if (::poll(&fds, 1, -1) < 0) continue;
    signalfd_siginfo info;
    bool start = false, abort = false;
    while (::read(signal_fd, &info, sizeof info) == sizeof info) {
      if (static_cast<int>(info.ssi_signo) == kStartMainSignal) start = true;
      if (static_cast<int>(info.ssi_signo) == kAbortMainSignal) abort = true;
    }
    int ignored;
    reap_children(-1, ignored);
    if (abort) return false;
    if (start) return true;
  }
}

[[noreturn]] void start_command(const LaunchRequest& request, int output_fd, const CommandPolicy& policy) {
  sigset_t none;
  sigemptyset(&none);
  ::sigprocmask(SIG_SETMASK, &none, nullptr);
  // stdout and stderr share one pipe: the log holds them interleaved as they were written.
  if (::dup2(request.stdin_file.get(), 0) < 0 || ::dup2(output_fd, 1) < 0 || ::dup2(output_fd, 2) < 0) ::_exit(126);
  run_command(request.message, policy);  // every other fd is close-on-exec
}

}  // namespace

void run_main_command(LaunchRequest request, int notify_fd, const CommandPolicy& policy) {
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGCHLD);
  sigaddset(&signals, kStartMainSignal);
  sigaddset(&signals, kAbortMainSignal);
  UniqueFd signal_fd(::signalfd(-1, &signals, SFD_CLOEXEC | SFD_NONBLOCK));
  if (!signal_fd) {
    send_line(request.connection.get(), std::string("E signalfd: ") + std::strerror(errno) + "\n");
    ::_exit(1);
  }
  ShepherdNotice notice{::getpid(), ShepherdNotice::Kind::launch, request.message.stop_grace_ms};
  (void)!::write(notify_fd, &notice, sizeof notice);
  ::close(notify_fd);

  if (!wait_for_turn(signal_fd.get())) {
    send_line(request.connection.get(), "E replaced by a later launch before it started\n");
    ::_exit(0);
  }
  int output[2];
  if (::pipe2(output, O_CLOEXEC) != 0) {
    send_line(request.connection.get(), std::string("E pipe: ") + std::strerror(errno) + "\n");
    ::_exit(1);
  }
  UniqueFd output_read(output[0]), output_write(output[1]);
  const MainProcess started =
      start_main_process([&] { start_command(request, output_write.get(), policy); });
  if (started.reaper < 0) {
    send_line(request.connection.get(), std::string("E fork: ") + std::strerror(errno) + "\n");
    ::_exit(1);
  }
  output_write.reset();
  request.stdin_file.reset();
  record(request.status.get(), "R " + std::to_string(started.command) + " " + std::to_string(unix_ms()) + "\n");
  send_line(request.connection.get(), "S " + std::to_string(started.command) + "\n");
  request.connection.reset();  // from here on the main command depends on no host process

  CappedLog log(std::move(request.log), std::move(request.rotated_log), request.message.log_limit);
  int status = 0;
  bool ended = false;
  while (!ended || output_read) {
    pollfd fds[2] = {{signal_fd.get(), POLLIN, 0}, {output_read.get(), POLLIN, 0}};
    int ready = ::poll(fds, 2, ended ? kDrainIdleMs : -1);
    if (ready < 0) continue;
    if (ready == 0) break;  // ended, and nothing holds the output open any more
    if (fds[1].revents) {
      char buffer[64 * 1024];
      ssize_t n = ::read(output_read.get(), buffer, sizeof buffer);
      if (n > 0) log.append(buffer, static_cast<std::size_t>(n));
      else if (n == 0 || errno != EINTR) output_read.reset();
    }
    if (fds[0].revents) {
      signalfd_siginfo info;
      while (::read(signal_fd.get(), &info, sizeof info) == sizeof info) {
      }
      if (!ended && reap_children(started.reaper, status)) {
        ended = true;
        // A service that ended leaves nothing behind (as systemd does), so a replacement or
        // a restart never meets its leftovers.
        signal_tree(::getpid(), SIGKILL);
      }
      int ignored;
      reap_children(-1, ignored);
    }
  }
  int ignored;
  reap_children(-1, ignored);
  record(request.status.get(), "X " + std::to_string(status) + " " + std::to_string(unix_ms()) + "\n");
  ::_exit(0);
}

}  // namespace hutch::agent
