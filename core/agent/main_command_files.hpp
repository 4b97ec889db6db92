// The host side of launch (Handle::launch, Handle::logs, SandboxInfo::main_command) for any
// backend whose sandboxes run this agent. The main command's files live in a host directory
// of the sandbox that the sandbox cannot reach; the host opens them and passes the fds:
//   main.log, main.log.1  its output, rotated to stay within the log limit (capped_log.hpp)
//   main.status           "C <argv as JSON>" (the host), then the agent's "R" and "X" lines
//                         (wire.hpp)
// The status lives in a file rather than behind a socket query so that any later process
// reads it without a round trip to the agent, also after the agent is gone, and so that a
// command in the sandbox can neither reach nor forge it. Each launch gets a new status file
// (renamed over the old one once the command runs): the replaced command's shepherd records
// its end in the old inode, not in the new command's status.
#pragma once

#include "wire.hpp"

#include <hutch/types.hpp>

#include <sys/types.h>

#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

namespace hutch::agent {

// Starts the main command: sends `message` (a launch) to the agent on `socket` with the files
// in `dir`, and waits until it runs (after the previous one is gone). Errc::state when the
// agent is gone or a later launch superseded this one, Errc::backend when it could not start.
// `agent_pid`: as send_request's, for a socket the sandbox can reach (Errc::permission_denied
// when another process listens there).
MainCommandInfo launch_main_command(const std::filesystem::path& socket, const std::string& sandbox_id,
                                    const std::filesystem::path& dir, const wire::ExecMessage& message,
                                    pid_t agent_pid = 0);

// The recorded state; nullopt when nothing was launched. With `sandbox_running` false, a
// command recorded as running is reported killed by SIGKILL: the sandbox's PID 1 died, and
// the kernel killed everything in its pid namespace with it.
std::optional<MainCommandInfo> read_main_command(const std::filesystem::path& dir, bool sandbox_running);

// Handle::logs over the files in `dir`. `running` says whether the main command still runs
// (checked before each read, so the read after it ended gets the last output).
void stream_main_log(const std::filesystem::path& dir, const std::string& sandbox_id,
                     const std::function<bool(std::string_view)>& sink, bool follow,
                     const std::function<bool()>& running);

}  // namespace hutch::agent
