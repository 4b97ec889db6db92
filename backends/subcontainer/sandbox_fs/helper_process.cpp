#include "sandbox_fs/helper_process.hpp"

#include "helper_launch.hpp"
#include "sandbox_fs/protocol.hpp"
#include "sandbox_fs/server.hpp"

#include <hutch/error.hpp>

#include <fcntl.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <vector>

namespace hutch::subcontainer {

using agent::UniqueFd;

FsHelperProcess::FsHelperProcess(const std::filesystem::path& helper, const std::string& id, LeaderFiles leader) {
  int pair[2];
  if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, pair) != 0)
    throw_system_error("sandbox " + id + ": socketpair for the fs helper", errno);
  socket_ = UniqueFd(pair[0]);
  const UniqueFd theirs(pair[1]);
  // The helper's fds as server.hpp places them (the others /dev/null); stderr is the host's, so
  // a crash says why.
  std::vector<int> fds(kFsHelperNetNamespaceFd + 1, -1);
  fds[kFsHelperSocketFd] = theirs.get();
  if (::fcntl(STDERR_FILENO, F_GETFD) >= 0) fds[STDERR_FILENO] = STDERR_FILENO;  // a daemon may have none
  fds[kFsHelperUserNamespaceFd] = leader.user_namespace.get();
  fds[kFsHelperRootFd] = leader.root.get();
  fds[kFsHelperNetNamespaceFd] = leader.net_namespace.get();
  pid_ = spawn_helper(helper, {"fs"}, {}, fds, id);
  // The child is not reaped before stop(), so its pid cannot name another process here.
  pidfd_ = UniqueFd(static_cast<int>(::syscall(SYS_pidfd_open, pid_, 0)));

  std::string hello;
  UniqueFd unexpected;
  const int rc = fs_wire::receive_frame(socket_.get(), hello, unexpected);
  std::string failure;
  if (rc != 0) {
    stop();
    failure = rc == -1 ? "it ended before serving" : std::string("its hello was unreadable: ") + std::strerror(rc);
  } else {
    try {
      fs_wire::Decoder in(hello);
      if (static_cast<fs_wire::Status>(in.u8()) != fs_wire::Status::ok) {
        in.u8();  // the code: always Errc::backend for a helper that cannot serve
        failure = in.str();
      }
    } catch (const fs_wire::ProtocolError& e) {
      failure = e.what();
    }
    if (!failure.empty()) stop();
  }
  if (!failure.empty()) throw Error(Errc::backend, "sandbox " + id + ": the fs helper could not start: " + failure);
}

FsHelperProcess::~FsHelperProcess() { stop(); }

void FsHelperProcess::stop() noexcept {
  if (pid_ <= 0) return;
  if (!pidfd_ || ::syscall(SYS_pidfd_send_signal, pidfd_.get(), SIGKILL, nullptr, 0) != 0) ::kill(pid_, SIGKILL);
  while (::waitpid(pid_, nullptr, 0) < 0 && errno == EINTR) {
  }
  pid_ = -1;
  pidfd_.reset();
  socket_.reset();
}

}  // namespace hutch::subcontainer
