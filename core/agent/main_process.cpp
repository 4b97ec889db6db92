#include "main_process.hpp"

#include "process_tree.hpp"
#include "unique_fd.hpp"

#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>

namespace hutch::agent {
namespace {

// Ends the calling process as `status` says another ended: the same exit code, or the same
// signal.
[[noreturn]] void end_like(int status) {
  if (WIFSIGNALED(status)) {
    const int signal = WTERMSIG(status);
    ::signal(signal, SIG_DFL);
    sigset_t one;
    sigemptyset(&one);
    sigaddset(&one, signal);
    ::sigprocmask(SIG_UNBLOCK, &one, nullptr);
    ::raise(signal);
  }
  ::_exit(WIFEXITED(status) ? WEXITSTATUS(status) : 1);
}

// The reaper; writes the command's pid (or -1) on `pid_fd`.
[[noreturn]] void reap(const std::function<void()>& start_command, int pid_fd) {
  sigset_t all;
  sigfillset(&all);
  ::sigprocmask(SIG_SETMASK, &all, nullptr);
  ::prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0);
  // Its tree, in the pids of its own namespace: the mounted /proc.
  read_processes_through(-1);
  const pid_t command = ::fork();
  if (command == 0) {
    start_command();
    ::_exit(126);
  }
  (void)!::write(pid_fd, &command, sizeof command);
  if (command < 0) ::_exit(126);
  int status = 0;
  pid_t ended;
  while ((ended = ::waitpid(-1, &status, 0)) != command) {
    if (ended < 0 && errno != EINTR) ::_exit(126);
  }
  signal_tree(::getpid(), SIGKILL);
  while (::waitpid(-1, nullptr, 0) > 0 || errno == EINTR) {
  }
  end_like(status);
}

}  // namespace

MainProcess start_main_process(const std::function<void()>& start_command) {
  MainProcess started;
  int pid_pipe[2];
  if (::pipe2(pid_pipe, O_CLOEXEC) != 0) return started;
  UniqueFd pid_read(pid_pipe[0]), pid_write(pid_pipe[1]);
  started.reaper = ::fork();
  if (started.reaper == 0) {
    pid_read.reset();
    reap(start_command, pid_write.get());
  }
  if (started.reaper < 0) return started;
  pid_write.reset();
  if (::read(pid_read.get(), &started.command, sizeof started.command) != sizeof started.command ||
      started.command < 0) {
    ::waitpid(started.reaper, nullptr, 0);
    started.reaper = -1;
    errno = EAGAIN;
  }
  return started;
}

}  // namespace hutch::agent
