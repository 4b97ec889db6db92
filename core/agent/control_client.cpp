#include "control_client.hpp"

#include "fd_passing.hpp"

#include <hutch/error.hpp>
#include <hutch/units.hpp>

#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <algorithm>
#include <cstring>
#include <ctime>

namespace hutch::agent {

UniqueFd connect_socket_file(const std::filesystem::path& socket, std::chrono::milliseconds send_timeout) {
  UniqueFd dir(::open(socket.parent_path().c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
  if (!dir) return UniqueFd();
  UniqueFd file(::openat(dir.get(), socket.filename().c_str(), O_PATH | O_NOFOLLOW | O_CLOEXEC));
  if (!file) return UniqueFd();
  struct stat st{};
  if (::fstat(file.get(), &st) != 0) return UniqueFd();
  if (!S_ISSOCK(st.st_mode)) {
    errno = S_ISLNK(st.st_mode) ? ELOOP : ENOTSOCK;
    return UniqueFd();
  }
  UniqueFd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (!fd) return UniqueFd();
  if (send_timeout.count() > 0) {
    timeval limit{static_cast<time_t>(send_timeout.count() / 1000),
                  static_cast<suseconds_t>(send_timeout.count() % 1000 * 1000)};
    if (::setsockopt(fd.get(), SOL_SOCKET, SO_SNDTIMEO, &limit, sizeof limit) != 0) return UniqueFd();
  }
  sockaddr_un address{};
  address.sun_family = AF_UNIX;
  std::string short_path = "/proc/self/fd/" + std::to_string(file.get());
  std::strcpy(address.sun_path, short_path.c_str());
  if (::connect(fd.get(), reinterpret_cast<sockaddr*>(&address), sizeof address) != 0) return UniqueFd();
  return fd;
}

UniqueFd send_exec_request(const std::filesystem::path& socket, const std::string& id,
                           const wire::ExecMessage& message, int stdin_fd, int stdout_fd, int stderr_fd,
                           pid_t agent_pid, Duration start_timeout) {
  const int fds[3] = {stdin_fd, stdout_fd, stderr_fd};
  return send_request(socket, id, message, fds, agent_pid, start_timeout);
}

Error start_timeout_error(const std::string& id, Duration limit) {
  return Error(Errc::timeout, "sandbox " + id + ": the command did not start within " + format_duration(limit) +
                                  ": the sandbox's agent did not take it (are the sandbox's processes stopped, "
                                  "or is it paused?)");
}

bool read_answer_with_fd(int conn, std::chrono::steady_clock::time_point deadline, Duration limit,
                         const std::string& id, std::string& input, UniqueFd& passed) {
  using Clock = std::chrono::steady_clock;
  while (input.find('\n') == std::string::npos) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
    pollfd fd{conn, POLLIN, 0};
    const int ready = left > 0 ? ::poll(&fd, 1, static_cast<int>(std::min<std::int64_t>(left, 60000)) + 1) : 0;
    if (ready < 0 && errno == EINTR) continue;
    if (ready < 0) throw_system_error("sandbox " + id + ": poll", errno);
    if (ready == 0) {
      if (Clock::now() < deadline) continue;
      throw start_timeout_error(id, limit);
    }
    char buffer[256];
    const ssize_t n = receive_with_fd(conn, buffer, sizeof buffer, passed, MSG_DONTWAIT);
    if (n < 0 && (errno == EAGAIN || errno == EINTR)) continue;
    if (n <= 0) return false;
    input.append(buffer, static_cast<std::size_t>(n));
  }
  return true;
}

UniqueFd send_request(const std::filesystem::path& socket, const std::string& id, const wire::ExecMessage& message,
                      std::span<const int> fds, pid_t agent_pid, Duration start_timeout) {
  if (fds.size() != static_cast<std::size_t>(wire::request_fd_count(message)) || fds.size() > wire::kLaunchFds)
    throw Error(Errc::invalid_argument, "sandbox " + id + ": a request with the wrong number of fds");
  UniqueFd fd = connect_socket_file(socket, start_timeout);
  if (!fd) {
    int err = errno;
    if (err == EAGAIN || err == EWOULDBLOCK) throw start_timeout_error(id, start_timeout);
    if (err == ENOENT && ::access(socket.parent_path().c_str(), F_OK) != 0)
      throw Error(Errc::state, "sandbox " + id + " is gone (" + socket.parent_path().string() + " does not exist)");
    if (err == ENOENT || err == ECONNREFUSED)
      throw Error(Errc::state, "sandbox " + id + " is not running (its leader does not answer on " +
                                   socket.string() + "); remove it with `hutch rm " + id + "`");
    if (err == ELOOP || err == ENOTSOCK)
      throw Error(Errc::permission_denied, "sandbox " + id + ": " + socket.string() +
                                               " is not a socket (something in the sandbox replaced it); "
                                               "refusing to connect");
    throw_system_error("sandbox " + id + ": connect to " + socket.string(), err);
  }
  if (agent_pid != 0) {
    ucred peer{};
    socklen_t size = sizeof peer;
    if (::getsockopt(fd.get(), SOL_SOCKET, SO_PEERCRED, &peer, &size) != 0)
      throw_system_error("sandbox " + id + ": read the peer of " + socket.string(), errno);
    if (peer.pid != agent_pid)
      throw Error(Errc::permission_denied, "sandbox " + id + ": " + socket.string() + " is served by process " +
                                               std::to_string(peer.pid) + ", not by the sandbox's agent (pid " +
                                               std::to_string(agent_pid) + "); refusing to send it a command");
  }
  std::string payload = wire::encode(message);
  if (payload.size() > wire::kMaxPayload)
    throw Error(Errc::invalid_argument, "sandbox " + id + ": argv and env together exceed 8 MiB");
  std::uint32_t length = static_cast<std::uint32_t>(payload.size());
  char control[CMSG_SPACE(sizeof(int) * wire::kLaunchFds)]{};
  iovec iov{&length, sizeof length};
  msghdr header{};
  header.msg_iov = &iov;
  header.msg_iovlen = 1;
  if (!fds.empty()) {  // a control request (wire.hpp) carries none
    header.msg_control = control;
    header.msg_controllen = CMSG_SPACE(sizeof(int) * fds.size());
    cmsghdr* cmsg = CMSG_FIRSTHDR(&header);
    cmsg->cmsg_level = SOL_SOCKET;
    cmsg->cmsg_type = SCM_RIGHTS;
    cmsg->cmsg_len = CMSG_LEN(sizeof(int) * fds.size());
    std::memcpy(CMSG_DATA(cmsg), fds.data(), sizeof(int) * fds.size());
  }
  auto send_failed = [&](int err) {
    if (err == EAGAIN || err == EWOULDBLOCK) throw start_timeout_error(id, start_timeout);
    throw_system_error("sandbox " + id + ": send exec request", err);
  };
  if (::sendmsg(fd.get(), &header, MSG_NOSIGNAL) != sizeof length) send_failed(errno);
  std::size_t sent = 0;
  while (sent < payload.size()) {
    ssize_t n = ::send(fd.get(), payload.data() + sent, payload.size() - sent, MSG_NOSIGNAL);
    if (n < 0) {
      if (errno == EINTR) continue;
      send_failed(errno);
    }
    sent += static_cast<std::size_t>(n);
  }
  return fd;
}

ssize_t write_without_sigpipe(int fd, std::string_view data) {
  sigset_t pipe_signal, previous;
  sigemptyset(&pipe_signal);
  sigaddset(&pipe_signal, SIGPIPE);
  ::pthread_sigmask(SIG_BLOCK, &pipe_signal, &previous);
  ssize_t n;
  do {
    n = ::write(fd, data.data(), data.size());
  } while (n < 0 && errno == EINTR);
  int err = errno;
  if (n < 0 && err == EPIPE) {
    // Consume the SIGPIPE raised for this thread before unblocking it.
    timespec zero{};
    ::sigtimedwait(&pipe_signal, nullptr, &zero);
  }
  ::pthread_sigmask(SIG_SETMASK, &previous, nullptr);
  errno = err;
  return n;
}

bool write_all_without_sigpipe(int fd, std::string_view data) {
  while (!data.empty()) {
    ssize_t n = write_without_sigpipe(fd, data);
    if (n < 0) return false;
    data.remove_prefix(static_cast<std::size_t>(n));
  }
  return true;
}

}  // namespace hutch::agent
