// Error reporting of the helper and its setup child: "ERR <what>" on the status fd (stderr
// until set_status_fd), then exit. The host reads it and wraps it in hutch::Error.
#pragma once

namespace hutch::subcontainer::helper {

// Where setup failures are written ("ERR <what>: <strerror(errno)>").
void set_status_fd(int fd);
[[noreturn]] void fail(const char* what, const char* object = nullptr);
[[noreturn]] void fail_errno(const char* what, const char* object = nullptr);

}  // namespace hutch::subcontainer::helper
