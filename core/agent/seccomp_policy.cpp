#include "seccomp_policy.hpp"

#include <sched.h>
#include <seccomp.h>
#include <sys/socket.h>

#include <cerrno>
#include <cstring>

namespace hutch::agent {
namespace {

constexpr const char* kDenied[] = {
    "mount",          "umount",        "umount2",         "pivot_root",  "open_tree",
    "move_mount",     "fsopen",        "fsconfig",        "fsmount",     "fspick",
    "mount_setattr",  "kexec_load",    "kexec_file_load", "init_module", "finit_module",
    "delete_module",  "bpf",           "keyctl",          "add_key",     "request_key",
    "userfaultfd",    "perf_event_open", "ptrace",        "process_vm_readv",
    "process_vm_writev", "unshare",    "reboot",          "swapon",      "swapoff",
    "acct",
    // io_uring runs its requests in kernel workers outside seccomp's view, and its code has been
    // a steady source of privilege escalations; no sandboxed program needs it.
    "io_uring_setup", "io_uring_enter", "io_uring_register",
};

constexpr unsigned long kNamespaceFlags[] = {CLONE_NEWNS,  CLONE_NEWUSER, CLONE_NEWPID,
                                             CLONE_NEWNET, CLONE_NEWIPC,  CLONE_NEWUTS,
                                             CLONE_NEWCGROUP, CLONE_NEWTIME};

struct Context {
  scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_ALLOW);
  ~Context() {
    if (ctx) seccomp_release(ctx);
  }
};

}  // namespace

std::string export_default_seccomp_bpf(int fd) {
  Context context;
  if (!context.ctx) return "seccomp_init failed";
  for (const char* name : kDenied) {
    int nr = seccomp_syscall_resolve_name(name);
    if (nr == __NR_SCMP_ERROR) continue;  // not on this architecture
    if (int rc = seccomp_rule_add(context.ctx, SCMP_ACT_ERRNO(EPERM), nr, 0); rc != 0)
      return std::string("seccomp rule for ") + name + ": " + std::strerror(-rc);
  }
  // setns for a pid namespace only sets where the caller's children start, and the kernel takes
  // only the caller's own namespace or one below it: the shepherds join the commands' namespace
  // (command_pid_namespace.hpp) after the leader's confinement, and a command, whose own
  // namespace is the lowest it can name, gains nothing from it. Any other type (0 included) is
  // refused.
  if (int rc = seccomp_rule_add(context.ctx, SCMP_ACT_ERRNO(EPERM), SCMP_SYS(setns), 1,
                                SCMP_A1(SCMP_CMP_NE, static_cast<scmp_datum_t>(CLONE_NEWPID)));
      rc != 0)
    return std::string("seccomp rule for setns: ") + std::strerror(-rc);
  for (unsigned long flag : kNamespaceFlags) {
    int rc = seccomp_rule_add(context.ctx, SCMP_ACT_ERRNO(EPERM), SCMP_SYS(clone), 1,
                              SCMP_A0(SCMP_CMP_MASKED_EQ, flag, flag));
    if (rc != 0) return std::string("seccomp rule for clone flags: ") + std::strerror(-rc);
  }
  // vsock is not namespaced: it reaches the hypervisor and other VMs whatever the sandbox's
  // network, so even a sandbox with network = "none" would have a way out.
  if (int rc = seccomp_rule_add(context.ctx, SCMP_ACT_ERRNO(EAFNOSUPPORT), SCMP_SYS(socket), 1,
                                SCMP_A0(SCMP_CMP_EQ, AF_VSOCK));
      rc != 0)
    return std::string("seccomp rule for vsock sockets: ") + std::strerror(-rc);
  if (int rc = seccomp_rule_add(context.ctx, SCMP_ACT_ERRNO(ENOSYS), SCMP_SYS(clone3), 0); rc != 0)
    return std::string("seccomp rule for clone3: ") + std::strerror(-rc);
  if (int rc = seccomp_export_bpf(context.ctx, fd); rc != 0)
    return std::string("seccomp_export_bpf: ") + std::strerror(-rc);
  return {};
}

}  // namespace hutch::agent
