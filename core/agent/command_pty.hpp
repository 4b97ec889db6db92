// The pseudo-terminal of a command started with a tty (wire.hpp: token 't', answer "T").
//
// Made by the shepherd, which runs in the sandbox's mount namespace: /dev/pts/ptmx is the
// sandbox's own devpts instance (the subcontainer helper mounts one with newinstance; a
// container has its own), so the terminal is numbered and owned inside the sandbox and
// nothing of the host's /dev/pts is reached. The slave becomes the command's stdin, stdout and
// stderr and, after its setsid(), its controlling terminal (exec_prepared); the master goes to
// the host over the control connection, which then reads and writes it directly and resizes
// it with TIOCSWINSZ (the kernel sends SIGWINCH to the terminal's foreground process group).
#pragma once

#include "unique_fd.hpp"

#include <cstdint>
#include <string>

namespace hutch::agent {

struct CommandPty {
  UniqueFd master;
  UniqueFd slave;
};

// Opens a terminal of `cols` x `rows` (80x24 where 0). Empty on success, else what failed.
std::string open_command_pty(std::uint16_t cols, std::uint16_t rows, CommandPty& pty);

// Sends "T\n" with `master` attached (SCM_RIGHTS) on the control connection; false when the
// host is gone.
bool send_pty_master(int conn, int master);

}  // namespace hutch::agent
