// The default seccomp filter of sandboxed commands (seccomp_policy.hpp), compiled to BPF when
// hutch is built and installed in the leader with one prctl; every command inherits it.
#pragma once

namespace hutch::agent {

// Installs the default filter in the calling process (no_new_privs must already be set).
// -1/errno on error.
int install_default_seccomp_filter();

}  // namespace hutch::agent
