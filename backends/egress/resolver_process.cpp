#include "resolver_process.hpp"

#include "atomic_file.hpp"
#include "child_process.hpp"

#include "agent/unique_fd.hpp"

#include <hutch/error.hpp>

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <fstream>
#include <sstream>

namespace hutch::egress {
using agent::UniqueFd;
namespace {

struct Recorded {
  pid_t pid = 0;
  std::uint64_t start_time = 0;
};

std::optional<Recorded> read_recorded(const std::filesystem::path& file) {
  std::ifstream in(file);
  Recorded recorded;
  if (!(in >> recorded.pid >> recorded.start_time) || recorded.pid <= 0) return std::nullopt;
  return recorded;
}

// The end of the resolver's log: why it could not start.
std::string log_tail(const std::filesystem::path& log) {
  std::ifstream in(log);
  std::string line, last;
  while (std::getline(in, line))
    if (!line.empty()) last = line;
  return last.empty() ? "no message (see " + log.string() + ")" : last;
}

}  // namespace

ResolverProcess::ResolverProcess(std::filesystem::path dir) : dir_(std::move(dir)) {}

std::optional<pid_t> ResolverProcess::running() const {
  const auto recorded = read_recorded(pid_file());
  if (!recorded || recorded->start_time == 0 || process_start_time(recorded->pid) != recorded->start_time)
    return std::nullopt;
  return recorded->pid;
}

void ResolverProcess::ensure_running(const ResolverLaunch& launch) {
  if (running()) return;
  const std::string what = "DNS resolver " + launch.executable.string() + " on " + launch.listen + ": ";
  if (::access(launch.executable.c_str(), X_OK) != 0)
    throw Error(Errc::backend, what + "not executable; set `resolver` in the backend's table ([backends.subcontainer] or "
                                      "[backends.docker]) to the path of hutch-resolver");
  std::filesystem::create_directories(dir_);
  UniqueFd log(::open(log_file().c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600));
  if (!log) throw_system_error(what + "open " + log_file().string(), errno);
  int pipe_fds[2];
  if (::pipe2(pipe_fds, O_CLOEXEC) != 0) throw_system_error(what + "pipe", errno);
  UniqueFd pid_out(pipe_fds[0]), pid_in(pipe_fds[1]);
  std::vector<std::string> args{"--listen", launch.listen, "--table", launch.table, "--policies",
                                launch.policies.string()};
  for (const auto& upstream : launch.upstreams) args.insert(args.end(), {"--upstream", upstream});
  // It forks once bound: this child prints the pid of the one that serves and exits.
  ExitingChild starter(spawn_process(launch.executable, args, {}, {-1, pid_in.get(), log.get()}, "DNS resolver"));
  pid_in.reset();
  std::string printed;
  char buffer[64];
  for (ssize_t got; (got = ::read(pid_out.get(), buffer, sizeof buffer)) != 0;) {
    if (got < 0 && errno == EINTR) continue;
    if (got < 0) break;
    printed.append(buffer, static_cast<std::size_t>(got));
  }
  const int status = starter.reap();
  pid_t pid = 0;
  std::istringstream(printed) >> pid;
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0 || pid <= 0) throw Error(Errc::backend, what + log_tail(log_file()));
  const std::uint64_t start_time = process_start_time(pid);
  if (start_time == 0) throw Error(Errc::backend, what + "it ended at once: " + log_tail(log_file()));
  write_file_atomic(pid_file(), std::to_string(pid) + " " + std::to_string(start_time) + "\n", 0600);
}

std::string ResolverProcess::stop() noexcept {
  try {
    const auto recorded = read_recorded(pid_file());
    if (recorded && process_start_time(recorded->pid) == recorded->start_time) {
      UniqueFd process(static_cast<int>(::syscall(SYS_pidfd_open, recorded->pid, 0)));
      // Checked again once the pidfd holds the process: the pid cannot be another's now.
      if (process && process_start_time(recorded->pid) == recorded->start_time) {
        ::syscall(SYS_pidfd_send_signal, process.get(), SIGKILL, nullptr, 0);
        pollfd ended{process.get(), POLLIN, 0};
        if (::poll(&ended, 1, 2000) != 1) return "the DNS resolver (pid " + std::to_string(recorded->pid) + ") did not end";
      }
    }
    std::error_code ignored;
    std::filesystem::remove(pid_file(), ignored);
    return {};
  } catch (const std::exception& e) {
    return std::string("stop the DNS resolver: ") + e.what();
  }
}

}  // namespace hutch::egress
