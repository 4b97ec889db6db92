#include "command_pid_namespace.hpp"

#include "capabilities.hpp"
#include "process_tree.hpp"
#include "seccomp_filter.hpp"

#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>

namespace hutch::agent {
namespace {

[[noreturn]] void init_failed(int ready_fd, const char* what) {
  std::string message = std::string(what) + ": " + std::strerror(errno);
  (void)!::write(ready_fd, message.data(), message.size());
  ::_exit(1);
}

// PID 1 of the commands' namespace. Signals from inside its namespace reach a namespace's init
// only where it installed a handler, and it installs none: SIGKILL and SIGSTOP from the sandbox
// are dropped, whatever the sender's capabilities; the others stay blocked, and the only one it
// acts on is the leader's SIGTERM.
[[noreturn]] void run_init(int ready_fd) {
  // The procfs of this namespace, over the outer one: /proc in the sandbox lists the commands
  // only. (The outer one stays underneath, out of reach without a umount.)
  if (::mount("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, nullptr) != 0)
    init_failed(ready_fd, "mount the commands' /proc");
  // Forked from the leader before its confinement: it confines itself, further than any
  // command (no capability at all), and its memory (which holds the helper's environment) stays
  // closed to the sandbox's /proc/1/mem and /proc/1/environ.
  if (::prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) != 0) init_failed(ready_fd, "prctl(PR_SET_DUMPABLE)");
  if (drop_bounding_set({}) != 0 || limit_capabilities({}) != 0) init_failed(ready_fd, "drop capabilities");
  if (::prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) init_failed(ready_fd, "set no_new_privs");
  if (install_default_seccomp_filter() != 0) init_failed(ready_fd, "install the seccomp filter");
  sigset_t all;
  sigfillset(&all);
  ::sigprocmask(SIG_SETMASK, &all, nullptr);
  (void)!::write(ready_fd, "OK", 2);
  // Nothing of the leader's (the control socket, the host's status pipe) stays open here.
  ::syscall(SYS_close_range, 0U, ~0U, 0U);
  sigset_t waited;
  sigemptyset(&waited);
  sigaddset(&waited, SIGCHLD);
  sigaddset(&waited, SIGTERM);
  // Set by the leader's SIGTERM when the sandbox stops (sandbox_stop.hpp): from then on the
  // init ends as soon as nothing else runs in its namespace, so that the stop ends then too and
  // does not wait out its grace for this init.
  bool stopping = false;
  constexpr timespec kStoppingTick{0, 50 * 1000 * 1000};
  while (true) {
    siginfo_t info{};
    const int received = stopping ? ::sigtimedwait(&waited, &info, &kStoppingTick) : ::sigwaitinfo(&waited, &info);
    // Only the leader's: sent with kill() (SI_USER, which no process can forge for another
    // one) from outside this namespace, where the sender has no pid (0).
    if (received == SIGTERM && info.si_code == SI_USER && info.si_pid == 0) stopping = true;
    while (::waitpid(-1, nullptr, WNOHANG) > 0) {
    }
    // kill(-1) from a namespace's init reaches every other process of the namespace.
    if (stopping && ::kill(-1, 0) != 0 && errno == ESRCH) ::_exit(0);
  }
}

}  // namespace

std::string start_command_pid_namespace(CommandPidNamespace& out) {
  out.agent_proc = UniqueFd(::open("/proc", O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!out.agent_proc) return std::string("open /proc: ") + std::strerror(errno);
  // The namespace is named through this process's own /proc entries: another process's are
  // closed to it (the init is not dumpable, and neither is this leader when hutch runs as
  // root), and setns through a pidfd checks ptrace access too. Made by unshare (the next
  // child is its init), then this process's children go back to its own namespace.
  UniqueFd own(::openat(out.agent_proc.get(), "self/ns/pid", O_RDONLY | O_CLOEXEC));
  if (!own) return std::string("open /proc/self/ns/pid: ") + std::strerror(errno);
  if (::unshare(CLONE_NEWPID) != 0) return std::string("unshare the commands' pid namespace: ") + std::strerror(errno);
  int ready[2];
  if (::pipe2(ready, O_CLOEXEC) != 0) return std::string("pipe: ") + std::strerror(errno);
  UniqueFd ready_read(ready[0]), ready_write(ready[1]);
  pid_t init = ::fork();
  if (init < 0) return std::string("fork the commands' init: ") + std::strerror(errno);
  if (init == 0) {
    ready_read.reset();
    run_init(ready_write.get());
  }
  ready_write.reset();
  // Named only once it has its init.
  out.namespace_fd = UniqueFd(::openat(out.agent_proc.get(), "self/ns/pid_for_children", O_RDONLY | O_CLOEXEC));
  const int open_error = errno;
  if (::setns(own.get(), CLONE_NEWPID) != 0) return std::string("setns back to the agent's pid namespace: ") + std::strerror(errno);
  char answer[256];
  ssize_t n;
  while ((n = ::read(ready_read.get(), answer, sizeof answer)) < 0 && errno == EINTR) {
  }
  if (n != 2 || std::memcmp(answer, "OK", 2) != 0) {
    ::kill(init, SIGKILL);
    ::waitpid(init, nullptr, 0);
    std::string why = n > 0 ? std::string(answer, static_cast<std::size_t>(n)) : "it ended";
    return "the init of the commands' pid namespace failed: " + why;
  }
  out.init = init;
  if (!out.namespace_fd) return std::string("open /proc/self/ns/pid_for_children: ") + std::strerror(open_error);
  read_processes_through(out.agent_proc.get());
  return {};
}

void use_command_pid_namespace(const CommandPidNamespace& space, CommandPolicy& policy) {
  policy.command_pid_namespace = space.namespace_fd.get();
  policy.command_pid_namespace_init = space.init;
}

bool join_command_pid_namespace(const CommandPolicy& policy) {
  return policy.command_pid_namespace < 0 || ::setns(policy.command_pid_namespace, CLONE_NEWPID) == 0;
}

}  // namespace hutch::agent
