#include "command_pty.hpp"

#include "fd_passing.hpp"

#include <fcntl.h>
#include <sys/ioctl.h>
#include <termios.h>

#include <cerrno>
#include <cstring>

namespace hutch::agent {

std::string open_command_pty(std::uint16_t cols, std::uint16_t rows, CommandPty& pty) {
  auto failed = [](const char* what) { return std::string(what) + ": " + std::strerror(errno); };
  // The devpts instance's own ptmx, not /dev/ptmx: that is only a symlink to it, which a
  // sandboxed process could replace.
  pty.master = UniqueFd(::open("/dev/pts/ptmx", O_RDWR | O_NOCTTY | O_CLOEXEC));
  if (!pty.master) return failed("open /dev/pts/ptmx (does the sandbox have a devpts with ptmx?)");
  int unlock = 0;
  if (::ioctl(pty.master.get(), TIOCSPTLCK, &unlock) != 0) return failed("unlock the terminal");
  winsize size{};
  size.ws_col = cols != 0 ? cols : 80;
  size.ws_row = rows != 0 ? rows : 24;
  if (::ioctl(pty.master.get(), TIOCSWINSZ, &size) != 0) return failed("set the terminal size");
  // Through the master, not by the path /dev/pts/<n>: no lookup that the sandbox could redirect.
  pty.slave = UniqueFd(::ioctl(pty.master.get(), TIOCGPTPEER, O_RDWR | O_NOCTTY | O_CLOEXEC));
  if (!pty.slave) return failed("open the terminal's slave");
  return {};
}

bool send_pty_master(int conn, int master) { return send_line_with_fd(conn, "T\n", master); }

}  // namespace hutch::agent
