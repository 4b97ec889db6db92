#include "owned_process.hpp"

#include "helper_launch.hpp"
#include "sandbox_record.hpp"

#include <hutch/error.hpp>

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <chrono>
#include <utility>

namespace hutch::subcontainer::network {
namespace {

// How long a process may take to say it works: only a host in trouble takes long.
constexpr int kStartTimeoutMs = 10000;
// How long an ended process may take to be gone (its sockets closed).
constexpr int kExitTimeoutMs = 2000;

// Everything the starter writes on the report pipe until every copy of its end is closed.
std::string read_report(int fd, const std::string& id, const std::string& what) {
  std::string text;
  const auto give_up = std::chrono::steady_clock::now() + std::chrono::milliseconds(kStartTimeoutMs);
  for (;;) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(give_up - std::chrono::steady_clock::now());
    pollfd readable{fd, POLLIN, 0};
    const int ready = ::poll(&readable, 1, static_cast<int>(std::max<std::int64_t>(0, left.count())));
    if (ready < 0 && errno == EINTR) continue;
    if (ready <= 0)
      throw Error(Errc::backend, "sandbox " + id + ": " + what + " did not start within " +
                                     std::to_string(kStartTimeoutMs / 1000) + "s");
    char buffer[512];
    const ssize_t got = ::read(fd, buffer, sizeof buffer);
    if (got < 0 && errno == EINTR) continue;
    if (got <= 0) return text;
    text.append(buffer, static_cast<std::size_t>(got));
  }
}

}  // namespace

UniqueFd open_pidfd(pid_t pid) { return UniqueFd(static_cast<int>(::syscall(SYS_pidfd_open, pid, 0))); }

std::string run_and_read_report(const std::filesystem::path& program, const std::vector<std::string>& args,
                                std::vector<int> fds, const std::string& id, const std::string& what) {
  int pipe_fds[2];
  if (::pipe2(pipe_fds, O_CLOEXEC) != 0) throw_system_error("sandbox " + id + ": pipe for " + what, errno);
  UniqueFd report_read(pipe_fds[0]);
  UniqueFd report_write(pipe_fds[1]);
  if (fds.size() < 2) fds.resize(2, -1);
  fds[1] = report_write.get();
  // A starter forks the process and exits at once (reaped here); the process is nobody's child.
  ExitingChild starter(spawn_helper(program, args, {}, fds, id));
  report_write.reset();
  const std::string report = read_report(report_read.get(), id, what);
  starter.reap();
  return report.substr(0, report.find('\n'));
}

Error report_failure(const std::string& line, const std::string& id, const std::string& what) {
  return Error(Errc::backend, "sandbox " + id + ": " + what + " failed: " +
                                  (line.rfind("ERR ", 0) == 0 ? line.substr(4) : "it exited without a word"));
}

OwnedProcess OwnedProcess::start(const std::filesystem::path& program, const std::vector<std::string>& args,
                                 std::vector<int> fds, const std::string& id, const std::string& what) {
  const std::string line = run_and_read_report(program, args, std::move(fds), id, what);
  pid_t pid = 0;
  if (line.rfind("OK ", 0) == 0) std::from_chars(line.data() + 3, line.data() + line.size(), pid);
  if (pid <= 0) throw report_failure(line, id, what);
  OwnedProcess process;
  process.pid_ = pid;
  process.pidfd_ = open_pidfd(pid);
  process.start_time_ = process_start_time(pid);
  if (!process.pidfd_ || process.start_time_ == 0)
    throw Error(Errc::backend, "sandbox " + id + ": " + what + " (pid " + std::to_string(pid) +
                                   ") ended as soon as it started");
  return process;
}

OwnedProcess OwnedProcess::adopt(pid_t pid, std::uint64_t start_time) {
  OwnedProcess process;
  if (pid <= 0) return process;
  UniqueFd pidfd = open_pidfd(pid);
  // Checked after opening the pidfd, so that the fd cannot refer to a reused pid.
  if (!pidfd || process_start_time(pid) != start_time) return process;
  process.pid_ = pid;
  process.start_time_ = start_time;
  process.pidfd_ = std::move(pidfd);
  return process;
}

OwnedProcess::OwnedProcess(OwnedProcess&& other) noexcept
    : pid_(std::exchange(other.pid_, 0)), start_time_(std::exchange(other.start_time_, 0)),
      pidfd_(std::move(other.pidfd_)) {}

OwnedProcess& OwnedProcess::operator=(OwnedProcess&& other) noexcept {
  if (this != &other) {
    end();
    pid_ = std::exchange(other.pid_, 0);
    start_time_ = std::exchange(other.start_time_, 0);
    pidfd_ = std::move(other.pidfd_);
  }
  return *this;
}

OwnedProcess::~OwnedProcess() { end(); }

void OwnedProcess::release() noexcept {
  pidfd_.reset();
  pid_ = 0;
  start_time_ = 0;
}

void OwnedProcess::end() noexcept {
  if (!pidfd_) return;
  ::syscall(SYS_pidfd_send_signal, pidfd_.get(), SIGKILL, nullptr, 0);
  // Readable once it has exited, its sockets closed: its host ports are free when this returns.
  pollfd exited{pidfd_.get(), POLLIN, 0};
  ::poll(&exited, 1, kExitTimeoutMs);
  release();
}

bool owned_process_alive(pid_t pid, std::uint64_t start_time) {
  return pid > 0 && start_time != 0 && process_start_time(pid) == start_time;
}

}  // namespace hutch::subcontainer::network
