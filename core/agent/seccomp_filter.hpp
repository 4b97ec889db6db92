// The default seccomp filter of sandboxed commands, compiled once by the leader (libseccomp)
// and installed in each command after fork with one prctl.
#pragma once

#include <linux/filter.h>

#include <string>
#include <vector>

namespace sbx::agent {

class SeccompProgram {
 public:
  // Compiles the default policy: mount family, kexec, module loading, bpf, keyctl,
  // userfaultfd, perf_event_open, ptrace, unshare/setns and clone with CLONE_NEW* fail with
  // EPERM; clone3 fails with ENOSYS so libc falls back to clone (whose flags can be checked).
  // Empty string on success, else what failed.
  std::string compile();
  // Installs it in the calling process (no_new_privs must already be set). -1/errno on error.
  int install() const;

 private:
  std::vector<sock_filter> instructions_;
};

}  // namespace sbx::agent
