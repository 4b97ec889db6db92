#include "netns_thread.hpp"

#include <hutch/error.hpp>

#include <fcntl.h>
#include <sched.h>

#include <cerrno>
#include <exception>
#include <string>
#include <thread>

namespace hutch::subcontainer::network {

UniqueFd open_network_namespace(pid_t pid) {
  const std::string path = "/proc/" + std::to_string(pid) + "/ns/net";
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd) {
    if (errno == ENOENT || errno == ESRCH) throw Error(Errc::not_found, "network: process " + std::to_string(pid) + " is gone");
    throw_system_error("network: open " + path, errno);
  }
  return fd;
}

void run_in_network_namespace(int namespace_fd, const std::function<void()>& work) {
  std::exception_ptr failure;
  std::thread worker([&] {
    try {
      if (::setns(namespace_fd, CLONE_NEWNET) != 0) throw_system_error("network: join a sandbox's network namespace", errno);
      work();
    } catch (...) {
      failure = std::current_exception();
    }
  });
  worker.join();
  if (failure) std::rethrow_exception(failure);
}

}  // namespace hutch::subcontainer::network
