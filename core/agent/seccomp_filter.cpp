#include "seccomp_filter.hpp"

#include <linux/seccomp.h>
#include <sched.h>
#include <seccomp.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace sbx::agent {
namespace {

constexpr const char* kDenied[] = {
    "mount",          "umount",        "umount2",         "pivot_root",  "open_tree",
    "move_mount",     "fsopen",        "fsconfig",        "fsmount",     "fspick",
    "mount_setattr",  "kexec_load",    "kexec_file_load", "init_module", "finit_module",
    "delete_module",  "bpf",           "keyctl",          "add_key",     "request_key",
    "userfaultfd",    "perf_event_open", "ptrace",        "process_vm_readv",
    "process_vm_writev", "unshare",    "setns",           "reboot",      "swapon",
    "swapoff",        "acct",
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

std::string SeccompProgram::compile() {
  Context context;
  if (!context.ctx) return "seccomp_init failed";
  for (const char* name : kDenied) {
    int nr = seccomp_syscall_resolve_name(name);
    if (nr == __NR_SCMP_ERROR) continue;  // not on this architecture
    if (int rc = seccomp_rule_add(context.ctx, SCMP_ACT_ERRNO(EPERM), nr, 0); rc != 0)
      return std::string("seccomp rule for ") + name + ": " + std::strerror(-rc);
  }
  for (unsigned long flag : kNamespaceFlags) {
    int rc = seccomp_rule_add(context.ctx, SCMP_ACT_ERRNO(EPERM), SCMP_SYS(clone), 1,
                              SCMP_A0(SCMP_CMP_MASKED_EQ, flag, flag));
    if (rc != 0) return std::string("seccomp rule for clone flags: ") + std::strerror(-rc);
  }
  if (int rc = seccomp_rule_add(context.ctx, SCMP_ACT_ERRNO(ENOSYS), SCMP_SYS(clone3), 0); rc != 0)
    return std::string("seccomp rule for clone3: ") + std::strerror(-rc);

  int memfd = ::memfd_create("sbx-seccomp", MFD_CLOEXEC);
  if (memfd < 0) return std::string("memfd_create: ") + std::strerror(errno);
  std::string error;
  if (int rc = seccomp_export_bpf(context.ctx, memfd); rc != 0) {
    error = std::string("seccomp_export_bpf: ") + std::strerror(-rc);
  } else {
    off_t size = ::lseek(memfd, 0, SEEK_END);
    instructions_.resize(static_cast<std::size_t>(size) / sizeof(sock_filter));
    if (::pread(memfd, instructions_.data(), static_cast<std::size_t>(size), 0) != size)
      error = "reading the compiled seccomp filter failed";
  }
  ::close(memfd);
  return error;
}

int SeccompProgram::install() const {
  sock_fprog program{};
  program.len = static_cast<unsigned short>(instructions_.size());
  program.filter = const_cast<sock_filter*>(instructions_.data());
  return ::prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &program, 0, 0);
}

}  // namespace sbx::agent
