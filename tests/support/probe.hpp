// hutch-test-probe (support/probe/) inside sandboxes: the tests bind-mount HUTCH_TEST_PROBE_DIR
// at kProbeDirInSandbox and run it to try kernel calls that busybox cannot make.
#pragma once

#include "error_of.hpp"

#include <hutch/handle.hpp>

#include <gtest/gtest.h>

#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <string>

namespace hutch::test {

inline constexpr const char* kProbeDirInSandbox = "/probe";
inline const std::string kProbeInSandbox = std::string(kProbeDirInSandbox) + "/hutch-test-probe";

// The read-only bind mount of the probe's directory.
inline Mount probe_mount() {
  Mount mount{MountType::bind, HUTCH_TEST_PROBE_DIR, kProbeDirInSandbox};
  mount.read_only = true;
  return mount;
}

// Whether this kernel lets the test process itself make vsock sockets and io_uring instances:
// only then does a refusal inside a sandbox prove that the sandbox refused it.
inline bool host_allows_vsock_and_io_uring() {
  int vsock = ::socket(AF_VSOCK, SOCK_STREAM | SOCK_CLOEXEC, 0);
  unsigned char params[120] = {};  // struct io_uring_params
  int ring = static_cast<int>(::syscall(__NR_io_uring_setup, 8, params));
  if (vsock >= 0) ::close(vsock);
  if (ring >= 0) ::close(ring);
  return vsock >= 0 && ring >= 0;
}

// Issue 12: the default seccomp filter refuses io_uring (EPERM) and vsock sockets
// (EAFNOSUPPORT, as a kernel without vsock would), whatever the sandbox's network.
inline void expect_io_uring_and_vsock_refused(Handle& sandbox) {
  auto run = [&](const char* what) {
    ExecRequest request;
    request.argv = {kProbeInSandbox, what};
    request.stdin_data = std::string();
    return sandbox.exec(request).stdout_data;
  };
  EXPECT_EQ(run("io_uring"), "refused: Operation not permitted\n");
  EXPECT_EQ(run("vsock"), "refused: Address family not supported by protocol\n");
}

}  // namespace hutch::test
