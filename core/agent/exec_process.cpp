#include "exec_process.hpp"

#include "control_client.hpp"

#include <hutch/error.hpp>

#include <fcntl.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <csignal>
#include <cstring>

namespace hutch::agent {
namespace {

// After the command ended, output still held open by something it left running is read
// only while it keeps coming; the command's own output is already in the pipe.
constexpr int kDrainIdleMs = 50;
constexpr std::size_t kReadSize = 64 * 1024;
// How long a shepherd has to report a SIGKILL (a timeout's, or the caller's). It answers in
// milliseconds unless it cannot run at all: a frozen (paused) sandbox, or a shepherd that a
// sandboxed process stopped, would otherwise hold wait() for ever. Short, because it adds to
// the timeout that the caller set for the whole call.
constexpr auto kKillAnswerTime = std::chrono::seconds(2);
// After the shepherd acknowledged the kill ("k"): how long ending the tree may take (a fork
// bomb of a thousand processes, on a busy host) before the kill counts as not carried out.
constexpr auto kKillFinishTime = std::chrono::seconds(60);

std::pair<UniqueFd, UniqueFd> make_pipe(const std::string& id) {
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0) throw_system_error("sandbox " + id + ": pipe", errno);
  return {UniqueFd(fds[0]), UniqueFd(fds[1])};
}

}  // namespace

std::unique_ptr<ExecProcess> ExecProcess::start(const std::filesystem::path& socket, const std::string& sandbox_id,
                                                const wire::ExecMessage& message, const ExecRequest& request,
                                                pid_t agent_pid) {
  std::unique_ptr<ExecProcess> process(new ExecProcess());
  process->sandbox_id_ = sandbox_id;
  process->output_limit_ = request.output_limit;
  process->wake_ = UniqueFd(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
  if (!process->wake_) throw_system_error("sandbox " + sandbox_id + ": eventfd", errno);
  process->started_ = Clock::now();
  if (request.timeout) process->deadline_ = process->started_ + *request.timeout;
  // The timeout bounds the whole call, its start included.
  constexpr Duration kLongest = std::chrono::hours(24 * 365);  // keeps started_ + limit from overflowing
  process->start_limit_ = std::min({request.start_timeout.value_or(kDefaultStartTimeout),
                                    request.timeout.value_or(kLongest), kLongest});
  process->start_deadline_ = process->started_ + process->start_limit_;
  if (request.tty) {
    wire::ExecMessage with_tty = message;
    with_tty.tty = true;
    with_tty.tty_cols = request.tty_cols;
    with_tty.tty_rows = request.tty_rows;
    process->control_ = send_request(socket, sandbox_id, with_tty, {}, agent_pid, process->start_limit_);
    process->tty_ = process->receive_pty_master();
    process->stdout_ = UniqueFd(::fcntl(process->tty_.get(), F_DUPFD_CLOEXEC, 0));
    process->stdin_ = UniqueFd(::fcntl(process->tty_.get(), F_DUPFD_CLOEXEC, 0));
    if (!process->stdout_ || !process->stdin_) throw_system_error("sandbox " + sandbox_id + ": dup the terminal", errno);
  } else {
    auto [stdin_read, stdin_write] = make_pipe(sandbox_id);
    auto [stdout_read, stdout_write] = make_pipe(sandbox_id);
    auto [stderr_read, stderr_write] = make_pipe(sandbox_id);
    process->control_ = send_exec_request(socket, sandbox_id, message, stdin_read.get(), stdout_write.get(),
                                          stderr_write.get(), agent_pid, process->start_limit_);
    process->stdout_ = std::move(stdout_read);
    process->stderr_ = std::move(stderr_read);
    process->stdin_ = std::move(stdin_write);
  }
  if (request.stdin_data) {
    process->stdin_from_request_ = true;
    process->pending_stdin_ = *request.stdin_data;
    if (process->pending_stdin_.empty()) {
      process->stdin_.reset();
    } else {
      ::fcntl(process->stdin_.get(), F_SETFL, O_NONBLOCK);
    }
  }
  return process;
}

ExecProcess::~ExecProcess() {
  if (!status_ && !control_lost_ && control_) send_kill(SIGKILL);
}

void ExecProcess::send_kill(int signal) {
  std::string line = "K " + std::to_string(signal) + "\n";
  ::send(control_.get(), line.data(), line.size(), MSG_NOSIGNAL);
}

void ExecProcess::resize(std::uint16_t cols, std::uint16_t rows) {
  if (!tty_) throw Error(Errc::state, "sandbox " + sandbox_id_ + ": resize: the command was started without a tty");
  winsize size{};
  size.ws_col = cols;
  size.ws_row = rows;
  // EIO: the command's side is closed (it ended); nothing to resize any more.
  if (::ioctl(tty_.get(), TIOCSWINSZ, &size) != 0 && errno != EIO)
    throw_system_error("sandbox " + sandbox_id_ + ": resize the terminal", errno);
}

void ExecProcess::kill(int signal) {
  if (status_ || control_lost_) return;
  send_kill(signal);
  if (signal == SIGKILL) {
    Clock::rep none = 0;
    kill_deadline_.compare_exchange_strong(none, (Clock::now() + kKillAnswerTime).time_since_epoch().count());
    const std::uint64_t one = 1;
    (void)!::write(wake_.get(), &one, sizeof one);
  }
}

UniqueFd ExecProcess::receive_pty_master() {
  UniqueFd master;
  if (!read_answer_with_fd(control_.get(), start_deadline_, start_limit_, sandbox_id_, control_input_, master))
    throw Error(Errc::io, "sandbox " + sandbox_id_ + ": the sandbox's agent closed the connection before the "
                                                     "command's terminal was made (was the sandbox destroyed?)");
  if (control_input_.starts_with("E ")) {
    parse_control_lines();
    throw Error(Errc::backend, "sandbox " + sandbox_id_ + ": the command could not be started: " + start_error_);
  }
  if (!control_input_.starts_with("T\n"))
    throw Error(Errc::backend, "sandbox " + sandbox_id_ + ": the agent answered a terminal request with something else");
  // Only a terminal's master answers TIOCGPTN: anything else the agent passed is refused.
  unsigned int number = 0;
  if (!master || ::ioctl(master.get(), TIOCGPTN, &number) != 0)
    throw Error(Errc::permission_denied, "sandbox " + sandbox_id_ + ": the agent's answer to a terminal request "
                                                                    "carries no terminal; refusing it");
  control_input_.erase(0, 2);
  parse_control_lines();  // "S" or "X" that came with it
  return master;
}

void ExecProcess::abandon() {
  control_lost_ = true;
  control_.reset();
  stdout_.reset();
  stderr_.reset();
}

void ExecProcess::keep(std::string& buffer, bool& truncated, const char* data, std::size_t size) const {
  std::size_t room = buffer.size() < output_limit_ ? output_limit_ - buffer.size() : 0;
  buffer.append(data, std::min(room, size));
  if (size > room) truncated = true;
}

void ExecProcess::handle_control_input() {
  char buffer[256];
  ssize_t n = ::recv(control_.get(), buffer, sizeof buffer, MSG_DONTWAIT);
  if (n < 0 && (errno == EAGAIN || errno == EINTR)) return;
  if (n <= 0) {
    if (!status_) control_lost_ = true;
    control_.reset();
    return;
  }
  control_input_.append(buffer, static_cast<std::size_t>(n));
  parse_control_lines();
}

void ExecProcess::parse_control_lines() {
  std::size_t newline;
  while ((newline = control_input_.find('\n')) != std::string::npos) {
    std::string line = control_input_.substr(0, newline);
    control_input_.erase(0, newline + 1);
    if (line == "S") {
      start_answered_ = true;
    } else if (line == "k") {
      // The shepherd runs and is ending the tree; give that the longer bound.
      kill_acknowledged_ = true;
      kill_deadline_.store((Clock::now() + kKillFinishTime).time_since_epoch().count());
    } else if (line.rfind("X ", 0) == 0) {
      start_answered_ = true;
      status_ = std::stoi(line.substr(2));
      ended_ = Clock::now();
    } else if (line.rfind("E ", 0) == 0) {
      start_answered_ = true;
      start_error_ = line.substr(2);
    }
  }
}

std::optional<OutputChunk> ExecProcess::step(bool collect) {
  auto now = Clock::now();
  const bool waiting = !status_ && !control_lost_;
  // Where the timeout comes first, it is the timeout that passed: its kill follows below.
  const bool start_deadline_binds = !deadline_ || start_deadline_ < *deadline_;
  if (waiting && !start_answered_ && start_deadline_binds && now >= start_deadline_) {
    start_timed_out_ = true;
    abandon();
    return std::nullopt;
  }
  if (deadline_ && waiting && now >= *deadline_ && !timed_out_) {
    timed_out_ = true;
    kill(SIGKILL);
  }
  const Clock::rep kill_deadline = kill_deadline_.load();
  if (waiting && kill_deadline != 0 && now.time_since_epoch().count() >= kill_deadline) {
    kill_unanswered_ = true;
    abandon();
    return std::nullopt;
  }
  pollfd fds[5];
  nfds_t count = 0;
  int stdout_index = -1, stderr_index = -1, control_index = -1, stdin_index = -1;
  fds[count++] = {wake_.get(), POLLIN, 0};
  if (stdout_) stdout_index = static_cast<int>(count), fds[count++] = {stdout_.get(), POLLIN, 0};
  if (stderr_) stderr_index = static_cast<int>(count), fds[count++] = {stderr_.get(), POLLIN, 0};
  if (control_) control_index = static_cast<int>(count), fds[count++] = {control_.get(), POLLIN, 0};
  bool writing_stdin = stdin_from_request_ && stdin_ && stdin_offset_ < pending_stdin_.size();
  if (writing_stdin) stdin_index = static_cast<int>(count), fds[count++] = {stdin_.get(), POLLOUT, 0};

  int timeout = -1;
  if (waiting) {
    std::optional<Clock::time_point> until;
    auto earliest = [&](Clock::time_point at) { until = until ? std::min(*until, at) : at; };
    if (!start_answered_) earliest(start_deadline_);
    if (deadline_ && !timed_out_) earliest(*deadline_);
    if (kill_deadline != 0) earliest(Clock::time_point(Clock::duration(kill_deadline)));
    if (until)
      timeout = static_cast<int>(std::max<std::int64_t>(
          0, std::chrono::duration_cast<std::chrono::milliseconds>(*until - now).count() + 1));
  } else {
    timeout = kDrainIdleMs;
  }
  int ready = ::poll(fds, count, timeout);
  if (ready < 0) {
    if (errno == EINTR) return std::nullopt;
    throw_system_error("sandbox " + sandbox_id_ + ": poll", errno);
  }
  if (fds[0].revents) {
    std::uint64_t count_read;
    (void)!::read(wake_.get(), &count_read, sizeof count_read);
    if (ready == 1) return std::nullopt;
  }
  if (ready == 0) {
    if (status_ || control_lost_) {
      // Something the command started keeps its output open; stop waiting for it.
      stdout_.reset();
      stderr_.reset();
    }
    return std::nullopt;
  }
  if (control_index >= 0 && fds[control_index].revents) handle_control_input();
  if (stdin_index >= 0 && fds[stdin_index].revents) {
    std::lock_guard lock(stdin_mutex_);
    ssize_t n = write_without_sigpipe(stdin_.get(), std::string_view(pending_stdin_).substr(stdin_offset_));
    if (n > 0) stdin_offset_ += static_cast<std::size_t>(n);
    if ((n < 0 && errno != EAGAIN) || stdin_offset_ >= pending_stdin_.size()) {
      stdin_.reset();
      pending_stdin_.clear();
    }
  }
  for (auto [index, stream] : {std::pair{stdout_index, StreamId::stdout_stream}, std::pair{stderr_index, StreamId::stderr_stream}}) {
    if (index < 0 || !fds[index].revents) continue;
    UniqueFd& fd = stream == StreamId::stdout_stream ? stdout_ : stderr_;
    char buffer[kReadSize];
    ssize_t n = ::read(fd.get(), buffer, sizeof buffer);
    // EAGAIN: a terminal's master shares its O_NONBLOCK with stdin (the same open file).
    if (n < 0 && (errno == EINTR || errno == EAGAIN)) continue;
    if (n <= 0) {
      fd.reset();
      continue;
    }
    if (collect) {
      if (stream == StreamId::stdout_stream)
        keep(collected_.stdout_data, collected_.stdout_truncated, buffer, static_cast<std::size_t>(n));
      else
        keep(collected_.stderr_data, collected_.stderr_truncated, buffer, static_cast<std::size_t>(n));
    } else {
      return OutputChunk{stream, std::string(buffer, static_cast<std::size_t>(n))};
    }
  }
  return std::nullopt;
}

std::optional<OutputChunk> ExecProcess::read_output() {
  while (stdout_ || stderr_) {
    if (auto chunk = step(false)) return chunk;
  }
  return std::nullopt;
}

void ExecProcess::write_stdin(std::string_view data) {
  std::lock_guard lock(stdin_mutex_);
  if (stdin_from_request_)
    throw Error(Errc::state, "sandbox " + sandbox_id_ + ": stdin was given with the request; it cannot be written");
  if (!stdin_) throw Error(Errc::state, "sandbox " + sandbox_id_ + ": stdin is closed");
  if (!write_all_without_sigpipe(stdin_.get(), data))
    throw Error(Errc::io, "sandbox " + sandbox_id_ + ": the command closed its stdin");
}

void ExecProcess::close_stdin() {
  std::lock_guard lock(stdin_mutex_);
  stdin_.reset();
}

ExecResult ExecProcess::wait() {
  if (result_) return *result_;
  while (!finished()) step(true);
  if (!start_error_.empty())
    throw Error(Errc::backend, "sandbox " + sandbox_id_ + ": the command could not be started: " + start_error_);
  if (start_timed_out_) throw start_timeout_error(sandbox_id_, start_limit_);
  if (kill_unanswered_ && kill_acknowledged_)
    throw Error(Errc::backend, "sandbox " + sandbox_id_ + ": the command " + (timed_out_ ? "timed out" : "was killed") +
                                   " and its processes did not all end within " +
                                   std::to_string(std::chrono::duration_cast<std::chrono::seconds>(kKillFinishTime).count()) +
                                   " s of the kill (a process in uninterruptible sleep?)");
  if (kill_unanswered_)
    throw Error(Errc::state, "sandbox " + sandbox_id_ + ": the command " + (timed_out_ ? "timed out" : "was killed") +
                                 " and its sandbox did not carry out the kill (is it paused, or are its processes "
                                 "stopped?); the command ends as soon as the sandbox runs again");
  if (!status_)
    throw Error(Errc::io, "sandbox " + sandbox_id_ +
                              ": the sandbox's leader went away before the command ended (was the sandbox destroyed?)");
  {
    std::lock_guard lock(stdin_mutex_);
    stdin_.reset();
  }
  ExecResult result = std::move(collected_);
  int status = *status_;
  if (WIFEXITED(status)) {
    result.exit_code = WEXITSTATUS(status);
  } else if (WIFSIGNALED(status)) {
    result.signal = WTERMSIG(status);
  }
  result.timed_out = timed_out_;
  result.duration = std::chrono::duration_cast<Duration>(ended_.value_or(Clock::now()) - started_);
  result_ = result;
  return result;
}

}  // namespace hutch::agent
