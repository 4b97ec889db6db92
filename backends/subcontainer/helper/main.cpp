// hutch-subcontainer-helper: starts one sandbox, or serves the host's file operations on one.
// The host execs it (never fork-without-exec in the multi-threaded host) as
//   hutch-subcontainer-helper fs      (sandbox_fs/server.hpp: the socket to the host, the
//                                      leader's user namespace and root on fixed fds)
//   HUTCH_SUBCONTAINER_PLAN=<plan-file> hutch-subcontainer-helper start
// (no host path on the command line, which the leader keeps: plan_format.hpp)
// It reads the plan once a byte arrives on its stdin (the host starts it early and writes the
// plan meanwhile). On its stdout the host then reads lines:
//   "P <pid>"   the leader's host pid, written by the helper right after the clone;
//   "OK"        the sandbox is ready, written by the leader itself (so the host need not wait
//               for the helper to relay it, nor to exit);
//   "ERR <why>" what failed, from the helper or the leader; the first one is the cause.
// A failure before the clone is "ERR <why>" on stderr and exit status 1. The helper exits as
// soon as the leader is in its cgroups; the leader stays behind as PID 1 of the sandbox.
//
// The order of setup, as nsjail and bubblewrap do it; each step is one function.
#include "../plan_format.hpp"
#include "agent/command.hpp"
#include "agent/command_pid_namespace.hpp"
#include "agent/leader.hpp"
#include "fail.hpp"
#include "idmapped_mounts.hpp"
#include "file_size_limit.hpp"
#include "network.hpp"
#include "plan.hpp"
#include "rootfs_setup.hpp"
#include "sandbox_fs/server.hpp"
#include "userns.hpp"

#include <fcntl.h>
#include <linux/nsfs.h>
#include <sched.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <optional>
#include <string>

using namespace hutch::subcontainer::helper;
using hutch::agent::CommandPolicy;
using hutch::agent::confine_leader;
using hutch::agent::run_leader;

namespace {

// How much higher than its commands the leader and its shepherds run (nice values). They do
// little but must answer the host at once, also when a thousand processes of the sandbox keep
// its CPU share busy: a fork bomb at its pids limit otherwise delays a kill's answer by seconds.
constexpr int kAgentPriorityBoost = 10;
// The nice value commands get back (CommandPolicy::command_nice), when the boost was applied.
std::optional<int> boosted_from;

// Run as host root, before the leader is cloned (it inherits the value): lowering a nice value
// needs CAP_SYS_NICE in the host's user namespace, which nothing in the sandbox has. Without it
// (rootless) everything keeps the caller's priority.
void boost_agent_priority() {
  errno = 0;
  const int nice = ::getpriority(PRIO_PROCESS, 0);
  if (errno != 0 || nice - kAgentPriorityBoost < -20) return;
  if (::setpriority(PRIO_PROCESS, 0, nice - kAgentPriorityBoost) == 0) boosted_from = nice;
}

// Moves the leader (and so everything it will start) into the sandbox's cgroups; an error
// message, or empty. Each write to cgroup.procs takes the kernel's cgroup threadgroup lock for
// writing, which waits for an RCU grace period: milliseconds on a busy host, and one write per
// hierarchy on cgroup v1. The parent does it while the leader mounts its root, so that wait
// overlaps the setup instead of preceding it.
std::string join_cgroups(const Plan& plan, pid_t leader) {
  std::string pid = std::to_string(leader);
  for (const auto& dir : plan.cgroups) {
    std::string path = dir + "/cgroup.procs";
    int fd = ::open(path.c_str(), O_WRONLY | O_CLOEXEC);
    bool ok = fd >= 0 && ::write(fd, pid.data(), pid.size()) == static_cast<ssize_t>(pid.size());
    int error = errno;
    if (fd >= 0) ::close(fd);
    if (!ok) return "join cgroup " + dir + ": " + std::strerror(error);
  }
  return {};
}

// Made by the helper parent with the caller's ids, so only the caller (and root) can
// connect; the leader inherits it. Bound through /proc/self/fd/<dir> so that a long state
// directory does not overflow sun_path.
int listen_on(const std::string& path) {
  auto slash = path.rfind('/');
  std::string dir = path.substr(0, slash), name = path.substr(slash + 1);
  int dir_fd = ::open(dir.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (dir_fd < 0) fail_errno("open", dir.c_str());
  int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) fail_errno("socket");
  sockaddr_un address{};
  address.sun_family = AF_UNIX;
  std::string short_path = "/proc/self/fd/" + std::to_string(dir_fd) + "/" + name;
  if (short_path.size() >= sizeof address.sun_path) fail("control socket name too long:", name.c_str());
  std::strcpy(address.sun_path, short_path.c_str());
  ::unlinkat(dir_fd, name.c_str(), 0);
  mode_t old_mask = ::umask(0077);
  int rc = ::bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof address);
  ::umask(old_mask);
  if (rc != 0) fail_errno("bind control socket", path.c_str());
  ::close(dir_fd);
  if (::listen(fd, 64) != 0) fail_errno("listen on", path.c_str());
  return fd;
}

// The parent writes one byte on the sync pipe once the id maps are written, and a second
// once the leader is in its cgroups.
void wait_for_parent(int sync_fd) {
  char byte;
  if (::read(sync_fd, &byte, 1) != 1) ::_exit(1);  // the parent died or failed; it reports
}

void detach_stdio() {
  int null_fd = ::open("/dev/null", O_RDWR | O_CLOEXEC);
  if (null_fd < 0) fail_errno("open /dev/null");
  for (int fd = 0; fd < 3; ++fd)
    if (::dup2(null_fd, fd) < 0) fail_errno("redirect stdio to /dev/null");
  ::close(null_fd);
}

// Runs as PID 1 of the new namespaces.
[[noreturn]] void setup_sandbox(const Plan& plan, int listen_fd, int sync_fd) {
  // The host's end of stdout, kept once stdio is detached: "OK" or "ERR <why>" goes there.
  int status_fd = ::fcntl(STDOUT_FILENO, F_DUPFD_CLOEXEC, 3);
  if (status_fd < 0) fail_errno("dup the status pipe");
  set_status_fd(status_fd);
  // The leader dies with its sandbox's destroyer only through an explicit kill; it must not
  // die with the helper parent that exits once setup is done.
  wait_for_parent(sync_fd);  // id maps written
  become_namespace_root(plan);
  make_mounts_private();
  attach_lower_layers(plan);
  int root_fd = mount_root_overlay(plan);
  create_mount_points(root_fd, plan);
  if (!plan.new_network) copy_host_network_files(root_fd);
  if (!plan.nameserver.empty()) write_root_file(root_fd, "/etc/resolv.conf", "nameserver " + plan.nameserver + "\n");
  mount_binds(root_fd, plan);
  mount_proc(root_fd);
  mount_minimal_dev(root_fd);
  // /tmp stays in the overlay, so fork and snapshot carry it like every other path; only a
  // read-only root gets a tmpfs there, to keep a writable /tmp.
  if (plan.read_only_root) {
    mount_tmp(root_fd);
    make_root_read_only(root_fd);
  }
  pivot_into(root_fd);
  ::close(root_fd);
  if (!plan.hostname.empty() && ::sethostname(plan.hostname.data(), plan.hostname.size()) != 0)
    fail_errno("sethostname");
  if (plan.new_network) bring_loopback_up();

  CommandPolicy policy;
  policy.keep_caps = plan.keep_caps;
  policy.can_setgroups = !plan.deny_setgroups;
  policy.default_user = plan.default_user;
  policy.seccomp = plan.seccomp;
  policy.stop_grace_ms = plan.stop_grace_ms;
  policy.ttl_deadline_ms = plan.ttl_deadline_ms;
  policy.idle_timeout_ms = plan.idle_timeout_ms;
  policy.expiry_fd = plan.expiry_fd;
  policy.command_nice = boosted_from;
  // Nothing runs in the sandbox but this process until it is in the sandbox's cgroups.
  wait_for_parent(sync_fd);
  ::close(sync_fd);
  limit_file_size(plan);
  // A cgroup namespace is rooted where its creator is at that moment: made only now, it hides
  // everything above the sandbox's own cgroups.
  if (::unshare(CLONE_NEWCGROUP) != 0) fail_errno("unshare the cgroup namespace");
  // Commands run in a pid namespace below this one, where neither this leader nor its
  // shepherds can be seen, signalled or traced (issue 12, finding 7). Made last, so that its
  // init is in the sandbox's cgroups and namespaces and sees the final root.
  hutch::agent::CommandPidNamespace commands;
  if (auto error = hutch::agent::start_command_pid_namespace(commands); !error.empty()) fail(error.c_str());
  hutch::agent::use_command_pid_namespace(commands, policy);
  if (auto confine_error = confine_leader(policy); !confine_error.empty()) fail(confine_error.c_str());
  detach_stdio();
  // "OK" goes out once the first shepherd is forked (run_leader).
  run_leader(listen_fd, policy, status_fd);
}

int start(const char* plan_path) {
  // The host starts us before it has written the plan, so that our exec and start-up overlap
  // its preparations: one byte on stdin says the plan is there; EOF that the create was given
  // up (nothing to report then).
  char go = 0;
  ssize_t got;
  while ((got = ::read(STDIN_FILENO, &go, 1)) < 0 && errno == EINTR) {
  }
  if (got != 1) return 1;
  Plan plan;
  std::string error;
  if (!read_plan(plan_path, plan, error)) {
    std::fprintf(stderr, "%s\n", error.c_str());
    return 1;
  }
  prepare_detached_mounts(plan);
  // Opened here, as the host user, emptied for this start: the leader writes why it expired
  // (agent/lifetime.hpp), the host reads it. Close-on-exec: no command inherits it.
  if (!plan.expiry_file.empty()) {
    plan.expiry_fd = ::open(plan.expiry_file.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (plan.expiry_fd < 0) fail_errno("open", plan.expiry_file.c_str());
  }
  int listen_fd = listen_on(plan.socket_path);

  int sync_pipe[2];
  if (::pipe2(sync_pipe, O_CLOEXEC) != 0) fail_errno("pipe");
  // No CLONE_NEWCGROUP yet: the leader makes its cgroup namespace once it is in its cgroups.
  unsigned long flags = CLONE_NEWUSER | CLONE_NEWNS | CLONE_NEWPID | CLONE_NEWIPC | CLONE_NEWUTS |
                        (plan.new_network ? CLONE_NEWNET : 0);
  // Single-threaded here, so a raw clone behaves like fork into the new namespaces. The
  // sandbox's own host uid creates them, so that it owns its user namespace (userns.hpp).
  boost_agent_priority();
  act_as_namespace_owner(plan);
  pid_t child = static_cast<pid_t>(::syscall(SYS_clone, flags | SIGCHLD, nullptr, nullptr, nullptr, nullptr));
  if (child < 0)
    fail_errno("clone into new namespaces (as the sandbox's host uid; is creating user namespaces restricted "
               "for unprivileged users, e.g. kernel.apparmor_restrict_unprivileged_userns?)");
  if (child == 0) {
    ::close(sync_pipe[1]);
    setup_sandbox(plan, listen_fd, sync_pipe[0]);
  }
  resume_host_root(plan);
  ::close(sync_pipe[0]);
  ::close(listen_fd);
  // From here on, failures go to stdout after the pid, and the leader is stopped. A leader
  // that failed first has already written why, which the host takes as the cause.
  bool pid_reported = false;
  auto report_pid = [&] {
    char line[32];
    int length = std::snprintf(line, sizeof line, "P %d\n", child);
    pid_reported = ::write(STDOUT_FILENO, line, static_cast<std::size_t>(length)) == length;
  };
  auto give_up = [&](const std::string& why) {
    if (!pid_reported) report_pid();
    std::string line = "ERR " + why + "\n";
    (void)!::write(STDOUT_FILENO, line.data(), line.size());
    ::kill(child, SIGKILL);
    ::waitpid(child, nullptr, 0);
    return 1;
  };
  // A leader that failed its setup has closed the pipe: a write then fails with EPIPE.
  ::signal(SIGPIPE, SIG_IGN);
  // The leader waits for its id maps: they come first, its pid (for the host) after. This
  // process shares its pages copy-on-write with the leader now, so each page it writes
  // costs a fault; it writes few.
  if (auto map_error = write_id_maps(child, plan); !map_error.empty())
    return give_up("user namespace id map: " + map_error);
  if (::write(sync_pipe[1], "1", 1) != 1) return give_up("the sandbox leader died during setup");
  report_pid();
  if (auto cgroup_error = join_cgroups(plan, child); !cgroup_error.empty()) return give_up(cgroup_error);
  if (::write(sync_pipe[1], "2", 1) != 1) return give_up("the sandbox leader died during setup");
  // The leader reports "OK" itself; there is nothing left to wait for.
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc == 2 && std::strcmp(argv[1], "fs") == 0) {
    using namespace hutch::subcontainer;
    ::syscall(SYS_close_range, static_cast<unsigned>(kFsHelperNetNamespaceFd) + 1, ~0U, 0U);
    // A host that had no network namespace to give left /dev/null there (spawn_helper).
    const int net = ::ioctl(kFsHelperNetNamespaceFd, NS_GET_NSTYPE) == CLONE_NEWNET ? kFsHelperNetNamespaceFd : -1;
    return serve_sandbox_fs(kFsHelperSocketFd, kFsHelperUserNamespaceFd, kFsHelperRootFd, net);
  }
  // Nothing the host left open may reach the sandbox.
  ::syscall(SYS_close_range, 3U, ~0U, 0U);
  const char* plan = std::getenv(hutch::subcontainer::kPlanVariable);
  if (argc == 2 && std::strcmp(argv[1], "start") == 0 && plan != nullptr && *plan == '/') return start(plan);
  std::fprintf(stderr, "usage: %s=<plan-file> %s start | %s fs\n(started by the hutch subcontainer backend)\n",
               hutch::subcontainer::kPlanVariable, argv[0], argv[0]);
  return 2;
}
