// The host end of the control protocol (wire.hpp): one connection per command.
#pragma once

#include "unique_fd.hpp"
#include "wire.hpp"

#include <hutch/error.hpp>
#include <hutch/types.hpp>

#include <sys/types.h>

#include <chrono>

#include <filesystem>
#include <span>
#include <string>
#include <string_view>

namespace hutch::agent {

// A stream socket connected to the unix socket at `socket`, or -1 with errno. Only a socket
// file is connected to: the final component is opened without following symlinks (ELOOP for a
// symlink, ENOTSOCK for anything else) and connected through that very inode, so a sandbox
// that can write the socket's directory cannot point the host at another host socket, not even
// by swapping the file between a check and the connect. Through /proc/self/fd/<fd>, so a long
// state directory does not overflow sun_path.
// `send_timeout` (when positive) bounds the connect and every later send on the socket.
UniqueFd connect_socket_file(const std::filesystem::path& socket,
                             std::chrono::milliseconds send_timeout = std::chrono::milliseconds(0));

// Connects to the leader and sends the request with the command's stdio fds. Errc::state when
// the sandbox's leader is not listening (the sandbox is gone). With `agent_pid` (a host pid),
// the request is sent only when that process is the one listening: a socket reachable from
// inside the sandbox could have been replaced by a sandboxed process (Errc::permission_denied).
// Connecting and sending take at most `start_timeout` each (a leader whose backlog is full, or
// whose shepherds do not read, would block them forever): Errc::timeout naming the sandbox.
UniqueFd send_exec_request(const std::filesystem::path& socket, const std::string& id,
                           const wire::ExecMessage& message, int stdin_fd, int stdout_fd, int stderr_fd,
                           pid_t agent_pid = 0, Duration start_timeout = kDefaultStartTimeout);
// The same with the request's fds as wire::request_fd_count(message) says.
UniqueFd send_request(const std::filesystem::path& socket, const std::string& id, const wire::ExecMessage& message,
                      std::span<const int> fds, pid_t agent_pid = 0, Duration start_timeout = kDefaultStartTimeout);

// Reads the agent's first answer line to a request it answers with an fd (a terminal's master,
// a connected socket; wire.hpp), waiting until `deadline`: everything read is appended to
// `input` (which then holds a whole first line, perhaps more), the fd that came with it goes
// to `passed`. False when the agent closed the connection before a whole line came;
// start_timeout_error(id, limit) once the deadline passed.
bool read_answer_with_fd(int conn, std::chrono::steady_clock::time_point deadline, Duration limit,
                         const std::string& id, std::string& input, UniqueFd& passed);

// The error of a command that its sandbox did not start within `limit`.
Error start_timeout_error(const std::string& id, Duration limit);

// One write(2); EPIPE is returned as -1/EPIPE instead of raising SIGPIPE in the host.
ssize_t write_without_sigpipe(int fd, std::string_view data);
// write(2) all of `data`; EPIPE is returned as false instead of raising SIGPIPE in the host.
bool write_all_without_sigpipe(int fd, std::string_view data);

}  // namespace hutch::agent
