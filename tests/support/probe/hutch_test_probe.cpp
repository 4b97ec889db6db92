// hutch-test-probe: a static program the tests put into sandboxes (bind-mounted) to try kernel
// calls that busybox cannot make, printing one line:
//   hutch-test-probe io_uring        io_uring_setup
//   hutch-test-probe vsock           socket(AF_VSOCK, SOCK_STREAM)
//   hutch-test-probe open-mem <pid>  open /proc/<pid>/mem for reading and writing
// The line is "allowed" or "refused: <strerror>"; exit status 0 either way, 2 on bad usage.
#include <fcntl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <string>

namespace {

int report(long result) {
  if (result < 0)
    std::printf("refused: %s\n", std::strerror(errno));
  else
    std::printf("allowed\n");
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  const std::string what = argc >= 2 ? argv[1] : "";
  if (what == "io_uring" && argc == 2) {
    unsigned char params[120] = {};  // struct io_uring_params, zeroed
    return report(::syscall(__NR_io_uring_setup, 8, params));
  }
  if (what == "vsock" && argc == 2) return report(::socket(AF_VSOCK, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (what == "open-mem" && argc == 3) {
    const std::string path = std::string("/proc/") + argv[2] + "/mem";
    return report(::open(path.c_str(), O_RDWR | O_CLOEXEC));
  }
  std::fprintf(stderr, "usage: %s io_uring | vsock | open-mem <pid>\n", argv[0]);
  return 2;
}
