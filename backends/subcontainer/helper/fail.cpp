#include "fail.hpp"

#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>

namespace hutch::subcontainer::helper {
namespace {
int status_fd = 2;

[[noreturn]] void report(std::string message) {
  message = "ERR " + message + "\n";
  (void)!::write(status_fd, message.data(), message.size());
  ::_exit(1);
}
}  // namespace

void set_status_fd(int fd) { status_fd = fd; }

void fail(const char* what, const char* object) {
  std::string message = what;
  if (object != nullptr) message += std::string(" ") + object;
  report(message);
}

void fail_errno(const char* what, const char* object) {
  int err = errno;
  std::string message = what;
  if (object != nullptr) message += std::string(" ") + object;
  report(message + ": " + std::strerror(err));
}

}  // namespace hutch::subcontainer::helper
