#include "port_forwarder_process.hpp"

#include "helper_launch.hpp"
#include "egress_names.hpp"
#include "ipv4.hpp"
#include "port_forwarder/protocol.hpp"
#include "sandbox_record.hpp"

#include <hutch/error.hpp>

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <chrono>
#include <utility>

namespace hutch::subcontainer::network {
namespace {

// How long a forwarder may take to say it forwards: it binds nothing and connects nowhere
// before it answers, so only a host in trouble takes long.
constexpr int kStartTimeoutMs = 10000;
// How long an ended forwarder may take to be gone (its sockets closed).
constexpr int kExitTimeoutMs = 2000;

UniqueFd open_pidfd(pid_t pid) { return UniqueFd(static_cast<int>(::syscall(SYS_pidfd_open, pid, 0))); }

// Everything the forwarder writes on the report pipe until every copy of its end is closed.
std::string read_report(int fd, const std::string& id) {
  std::string text;
  const auto give_up = std::chrono::steady_clock::now() + std::chrono::milliseconds(kStartTimeoutMs);
  for (;;) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(give_up - std::chrono::steady_clock::now());
    pollfd readable{fd, POLLIN, 0};
    const int ready = ::poll(&readable, 1, static_cast<int>(std::max<std::int64_t>(0, left.count())));
    if (ready < 0 && errno == EINTR) continue;
    if (ready <= 0)
      throw Error(Errc::backend, "sandbox " + id + ": the port forwarder did not start within " +
                                     std::to_string(kStartTimeoutMs / 1000) + "s");
    char buffer[512];
    const ssize_t got = ::read(fd, buffer, sizeof buffer);
    if (got < 0 && errno == EINTR) continue;
    if (got <= 0) return text;
    text.append(buffer, static_cast<std::size_t>(got));
  }
}

}  // namespace

PortForwarder PortForwarder::start(const std::filesystem::path& program, const std::string& id, pid_t leader,
                                   std::uint32_t sandbox_address, const std::vector<PortMapping>& ports,
                                   const std::vector<UniqueFd>& sockets) {
  if (::access(program.c_str(), X_OK) != 0)
    throw Error(Errc::backend, "sandbox " + id + ": the port forwarder " + program.string() +
                                   " is not executable; set [backends.subcontainer] port_forwarder = "
                                   "\"/path/to/hutch-port-forwarder\"");
  const UniqueFd leader_fd = open_pidfd(leader);
  if (!leader_fd) throw_system_error("sandbox " + id + ": pidfd_open of its leader " + std::to_string(leader), errno);
  int pipe_fds[2];
  if (::pipe2(pipe_fds, O_CLOEXEC) != 0) throw_system_error("sandbox " + id + ": pipe for the port forwarder", errno);
  UniqueFd report_read(pipe_fds[0]);
  UniqueFd report_write(pipe_fds[1]);

  std::vector<int> fds(static_cast<std::size_t>(port_forwarder::kFirstSocketFd), -1);
  fds[port_forwarder::kReportFd] = report_write.get();
  fds[port_forwarder::kLeaderFd] = leader_fd.get();
  std::vector<std::string> args{id, format_ipv4(sandbox_address)};
  for (std::size_t i = 0; i < ports.size(); ++i) {
    args.push_back(std::string(to_string(ports[i].protocol)) + ":" + std::to_string(ports[i].sandbox_port));
    fds.push_back(sockets.at(i).get());
  }
  // It forks the forwarder and exits at once (reaped here); the forwarder is nobody's child.
  ExitingChild starter(spawn_helper(program, args, {}, fds, id));
  report_write.reset();
  const std::string report = read_report(report_read.get(), id);
  starter.reap();
  const std::string line = report.substr(0, report.find('\n'));
  pid_t pid = 0;
  if (line.rfind("OK ", 0) == 0) std::from_chars(line.data() + 3, line.data() + line.size(), pid);
  if (pid <= 0)
    throw Error(Errc::backend, "sandbox " + id + ": the port forwarder failed: " +
                                   (line.rfind("ERR ", 0) == 0 ? line.substr(4) : "it exited without a word"));
  PortForwarder forwarder;
  forwarder.pid_ = pid;
  forwarder.pidfd_ = open_pidfd(forwarder.pid_);
  forwarder.start_time_ = process_start_time(forwarder.pid_);
  if (!forwarder.pidfd_ || forwarder.start_time_ == 0)
    throw Error(Errc::backend, "sandbox " + id + ": the port forwarder (pid " + std::to_string(forwarder.pid_) +
                                   ") ended as soon as it started");
  return forwarder;
}

PortForwarder PortForwarder::adopt(pid_t pid, std::uint64_t start_time) {
  PortForwarder forwarder;
  if (pid <= 0) return forwarder;
  UniqueFd pidfd = open_pidfd(pid);
  // Checked after opening the pidfd, so that the fd cannot refer to a reused pid.
  if (!pidfd || process_start_time(pid) != start_time) return forwarder;
  forwarder.pid_ = pid;
  forwarder.start_time_ = start_time;
  forwarder.pidfd_ = std::move(pidfd);
  return forwarder;
}

PortForwarder::PortForwarder(PortForwarder&& other) noexcept
    : pid_(std::exchange(other.pid_, 0)), start_time_(std::exchange(other.start_time_, 0)),
      pidfd_(std::move(other.pidfd_)) {}

PortForwarder& PortForwarder::operator=(PortForwarder&& other) noexcept {
  if (this != &other) {
    end();
    pid_ = std::exchange(other.pid_, 0);
    start_time_ = std::exchange(other.start_time_, 0);
    pidfd_ = std::move(other.pidfd_);
  }
  return *this;
}

PortForwarder::~PortForwarder() { end(); }

void PortForwarder::release() noexcept {
  pidfd_.reset();
  pid_ = 0;
  start_time_ = 0;
}

void PortForwarder::end() noexcept {
  if (!pidfd_) return;
  ::syscall(SYS_pidfd_send_signal, pidfd_.get(), SIGKILL, nullptr, 0);
  // Readable once it has exited, its sockets closed: the host ports are free when this returns.
  pollfd exited{pidfd_.get(), POLLIN, 0};
  ::poll(&exited, 1, kExitTimeoutMs);
  release();
}

bool port_forwarder_alive(pid_t pid, std::uint64_t start_time) {
  return pid > 0 && start_time != 0 && process_start_time(pid) == start_time;
}

}  // namespace hutch::subcontainer::network
