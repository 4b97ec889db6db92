// Whether this process may create sandboxes on namespaces: for the HUTCH_NEED checks of the
// tests that use the subcontainer backend.
#pragma once

#include <sched.h>
#include <sys/wait.h>
#include <unistd.h>

namespace hutch::test {

// True when this process may create a user + mount namespace (root, or unprivileged user
// namespaces enabled).
inline bool user_namespaces_available() {
  pid_t child = ::fork();
  if (child == 0) ::_exit(::unshare(CLONE_NEWUSER | CLONE_NEWNS) == 0 ? 0 : 1);
  int status = 0;
  ::waitpid(child, &status, 0);
  return WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

}  // namespace hutch::test
