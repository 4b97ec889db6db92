#include "forwarding.hpp"

#include "unique_fd.hpp"

#include <hutch/error.hpp>

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>

namespace hutch::subcontainer::network {

void enable_ipv4_forwarding() {
  // /proc/sys/net shows the namespace of the thread that opens it.
  constexpr const char* kPath = "/proc/sys/net/ipv4/ip_forward";
  UniqueFd fd(::open(kPath, O_RDWR | O_CLOEXEC));
  if (!fd) throw_system_error(std::string("network: open ") + kPath, errno);
  char value = 0;
  if (::read(fd.get(), &value, 1) == 1 && value == '1') return;
  if (::pwrite(fd.get(), "1\n", 2, 0) != 2) throw_system_error(std::string("network: enable forwarding in ") + kPath, errno);
}

}  // namespace hutch::subcontainer::network
