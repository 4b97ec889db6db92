// Error reporting of the helper's setup child: a message on the status pipe, then exit.
// The parent relays it to the host, which wraps it in sbx::Error.
#pragma once

namespace sbx::subcontainer::helper {

// Where setup failures are written ("ERR <what>: <strerror(errno)>").
void set_status_fd(int fd);
[[noreturn]] void fail(const char* what, const char* object = nullptr);
[[noreturn]] void fail_errno(const char* what, const char* object = nullptr);

}  // namespace sbx::subcontainer::helper
