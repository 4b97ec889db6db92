// The host end of the control protocol (wire.hpp): one connection per command.
#pragma once

#include "unique_fd.hpp"
#include "wire.hpp"

#include <sys/types.h>

#include <filesystem>
#include <span>
#include <string>
#include <string_view>

namespace hutch::agent {

// Connects to the leader and sends the request with the command's stdio fds. Errc::state when
// the sandbox's leader is not listening (the sandbox is gone). With `agent_pid` (a host pid),
// the request is sent only when that process is the one listening: a socket reachable from
// inside the sandbox could have been replaced by a sandboxed process (Errc::permission_denied).
UniqueFd send_exec_request(const std::filesystem::path& socket, const std::string& id,
                           const wire::ExecMessage& message, int stdin_fd, int stdout_fd, int stderr_fd,
                           pid_t agent_pid = 0);
// The same with the request's fds as wire::request_fd_count(message) says.
UniqueFd send_request(const std::filesystem::path& socket, const std::string& id, const wire::ExecMessage& message,
                      std::span<const int> fds, pid_t agent_pid = 0);

// One write(2); EPIPE is returned as -1/EPIPE instead of raising SIGPIPE in the host.
ssize_t write_without_sigpipe(int fd, std::string_view data);
// write(2) all of `data`; EPIPE is returned as false instead of raising SIGPIPE in the host.
bool write_all_without_sigpipe(int fd, std::string_view data);

}  // namespace hutch::agent
