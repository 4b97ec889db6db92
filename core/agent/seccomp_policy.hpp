// The default seccomp policy of sandboxed commands, as libseccomp rules. Compiled to BPF at
// build time (seccomp_filter_gen.cpp), so that no sandbox pays libseccomp's compilation (half
// a millisecond per start) and the static agent executables do not carry libseccomp.
#pragma once

#include <string>

namespace hutch::agent {

// Writes the policy as raw BPF (struct sock_filter[]) for the architecture this runs on to
// `fd`: mount family, kexec, module loading, bpf, keyctl, userfaultfd, perf_event_open,
// ptrace, unshare, setns (but for a pid namespace), io_uring and clone with CLONE_NEW* fail
// with EPERM; socket(AF_VSOCK)
// fails with EAFNOSUPPORT, as on a kernel without vsock; clone3 fails with ENOSYS so libc falls
// back to clone (whose flags can be checked). Empty string on success, else what
// failed.
std::string export_default_seccomp_bpf(int fd);

}  // namespace hutch::agent
