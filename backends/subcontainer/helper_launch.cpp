#include "helper_launch.hpp"

#include "agent/control_client.hpp"
#include "plan_format.hpp"

#include <hutch/error.hpp>

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <string>
#include <vector>

namespace hutch::subcontainer {
namespace {

std::string trim(std::string text) {
  while (!text.empty() && (text.back() == '\n' || text.back() == ' ')) text.pop_back();
  return text;
}

}  // namespace

pid_t spawn_helper(const std::filesystem::path& helper, const std::vector<std::string>& args,
                   const std::vector<std::string>& environment, const std::vector<int>& fds, const std::string& id) {
  if (::access(helper.c_str(), X_OK) != 0)
    throw Error(Errc::backend, "sandbox " + id + ": helper " + helper.string() +
                                   " is not executable; set [backends.subcontainer] helper = \"/path/to/hutch-subcontainer-helper\"");
  return egress::spawn_process(helper, args, environment, fds, "sandbox " + id + ": helper");
}

PendingHelper::PendingHelper(const std::filesystem::path& helper, const std::filesystem::path& plan, std::string id)
    : id_(std::move(id)) {
  int go[2], out[2], err[2];
  if (::pipe2(go, O_CLOEXEC) != 0) throw_system_error("sandbox " + id_ + ": pipe", errno);
  UniqueFd go_read(go[0]), go_write(go[1]);
  if (::pipe2(out, O_CLOEXEC) != 0) throw_system_error("sandbox " + id_ + ": pipe", errno);
  UniqueFd out_read(out[0]), out_write(out[1]);
  if (::pipe2(err, O_CLOEXEC) != 0) throw_system_error("sandbox " + id_ + ": pipe", errno);
  UniqueFd err_read(err[0]), err_write(err[1]);
  child_ = ExitingChild(spawn_helper(helper, {"start"}, {std::string(kPlanVariable) + "=" + plan.string()}, {go_read.get(), out_write.get(), err_write.get()}, id_));
  go_ = std::move(go_write);
  out_ = std::move(out_read);
  err_ = std::move(err_read);
}

namespace {

// What the helper and the leader report on the helper's stdout (helper/main.cpp): the leader's
// pid, then "OK" or the first "ERR <why>".
struct StartReport {
  pid_t leader = -1;
  bool ready = false;
  std::string error;  // the first ERR line's text
  std::string unexpected;  // any other line

  // Takes the complete lines of `text` (leaving a partial one there); true once "OK" came.
  bool take_lines(std::string& text) {
    std::size_t newline;
    while ((newline = text.find('\n')) != std::string::npos) {
      std::string line = text.substr(0, newline);
      text.erase(0, newline + 1);
      if (line == "OK") {
        ready = true;
      } else if (line.rfind("P ", 0) == 0) {
        char* end = nullptr;
        const long pid = std::strtol(line.c_str() + 2, &end, 10);
        if (*end == '\0' && pid > 0) leader = static_cast<pid_t>(pid);
      } else if (line.rfind("ERR ", 0) == 0) {
        if (error.empty()) error = line.substr(4);
      } else if (unexpected.empty()) {
        unexpected = line;
      }
    }
    return ready;
  }
};

// Hands the leader's pid to `on_leader` once, as soon as it is known; if that throws, the
// leader (PID 1 of its namespaces) is killed, so a half-made sandbox never runs unrecorded.
void take_report_lines(StartReport& report, std::string& text, const std::function<void(pid_t)>& on_leader) {
  const bool had_leader = report.leader > 0;
  report.take_lines(text);
  if (had_leader || report.leader <= 0 || !on_leader) return;
  try {
    on_leader(report.leader);
  } catch (...) {
    ::kill(report.leader, SIGKILL);
    throw;
  }
}

}  // namespace

StartedSandbox PendingHelper::start(const std::function<void(pid_t leader)>& on_leader) {
  // A helper that died meanwhile makes this fail (EPIPE, not a SIGPIPE in the host); its
  // message is read below.
  agent::write_without_sigpipe(go_.get(), "g");
  go_.reset();

  // Read until the leader says "OK": the helper may still be exiting then (tearing down its
  // memory), which need not delay the caller. Otherwise read both pipes to EOF for the cause.
  StartReport report;
  std::string stdout_text, stderr_text;
  pollfd fds[2] = {{out_.get(), POLLIN, 0}, {err_.get(), POLLIN, 0}};
  int open_streams = 2;
  while (open_streams > 0 && !report.ready) {
    if (::poll(fds, 2, -1) < 0) {
      if (errno == EINTR) continue;
      break;
    }
    for (int i = 0; i < 2; ++i) {
      if (fds[i].fd < 0 || !fds[i].revents) continue;
      char buffer[4096];
      ssize_t n = ::read(fds[i].fd, buffer, sizeof buffer);
      if (n > 0) {
        (i == 0 ? stdout_text : stderr_text).append(buffer, static_cast<std::size_t>(n));
        if (i == 0) take_report_lines(report, stdout_text, on_leader);
      } else if (n == 0 || errno != EINTR) {
        fds[i].fd = -1;
        --open_streams;
      }
    }
  }
  out_.reset();
  err_.reset();
  if (report.ready && report.error.empty() && report.leader > 0)
    return StartedSandbox{report.leader, std::move(child_)};

  // A failure: the first ERR line says why, else the helper's stderr and exit status.
  const int status = child_.reap();
  std::string message = report.error;
  if (message.empty()) {
    message = trim(stderr_text);
    if (message.rfind("ERR ", 0) == 0) message.erase(0, 4);
  }
  if (message.empty() && (!WIFEXITED(status) || WEXITSTATUS(status) != 0))
    message = "helper ended with status " + std::to_string(status);
  if (message.empty() && report.leader > 0) message = "the sandbox leader died during setup";
  if (message.empty()) message = "helper printed no leader pid (got '" + trim(report.unexpected + stdout_text) + "')";
  throw Error(Errc::backend, "sandbox " + id_ + ": setup failed: " + message);
}

}  // namespace hutch::subcontainer
