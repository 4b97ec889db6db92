// One command in a sandbox, seen from the host: its stdio pipes and its control connection
// to the leader. Implements hutch::Process; Handle::exec is spawn + wait.
//
// Nothing in the sandbox can hold the host forever: a command must start within the
// request's start_timeout (Errc::timeout naming the sandbox; the agent reports a command that
// still runs 20 ms after its start, so give it well more than that; a shorter timeout bounds
// the start instead, and the command then times out), and once the host has asked for
// a SIGKILL (kill(9), or the timeout), the shepherd has a short while to report the command's
// end before the host gives up on it (Errc::state). Where sandboxed processes can stop the
// agent's shepherds (docker, with CAP_KILL) or the whole sandbox is frozen, these deadlines are
// what bounds the host; subcontainer shepherds are out of the sandbox's reach
// (command_pid_namespace.hpp).
//
// With request.tty the agent makes a terminal in the sandbox (command_pty.hpp) and hands its
// master over: it is then the command's stdin and (as stdout_stream) its output, and resize()
// sets its size directly.
//
// Memory stays bounded however much the command prints: read_output hands chunks to the
// caller as they come (the command blocks when the caller stops reading), and wait keeps at
// most request.output_limit bytes per stream, counting and dropping the rest.
#pragma once

#include "unique_fd.hpp"
#include "wire.hpp"

#include <hutch/process.hpp>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <mutex>
#include <optional>
#include <string>

namespace hutch::agent {

class ExecProcess final : public Process {
 public:
  static std::unique_ptr<ExecProcess> start(const std::filesystem::path& socket, const std::string& sandbox_id,
                                            const wire::ExecMessage& message, const ExecRequest& request,
                                            pid_t agent_pid = 0);
  ~ExecProcess() override;

  std::optional<OutputChunk> read_output() override;
  void write_stdin(std::string_view data) override;
  void close_stdin() override;
  ExecResult wait() override;
  void kill(int signal = 9) override;
  void resize(std::uint16_t cols, std::uint16_t rows) override;

 private:
  using Clock = std::chrono::steady_clock;
  ExecProcess() = default;

  // One poll round. Returns a chunk read from stdout/stderr when `collect` is false.
  std::optional<OutputChunk> step(bool collect);
  bool finished() const { return !stdout_ && !stderr_ && (status_ || control_lost_); }
  // Stops waiting for the shepherd: closing the connection ends the command once the shepherd
  // runs again (a shepherd whose host has gone kills the command's whole tree).
  void abandon();
  void handle_control_input();
  void parse_control_lines();
  void keep(std::string& buffer, bool& truncated, const char* data, std::size_t size) const;
  void send_kill(int signal);
  // Waits (up to the start deadline) for the agent's "T" and the terminal's master with it.
  UniqueFd receive_pty_master();

  std::string sandbox_id_;
  UniqueFd control_, stdout_, stderr_;
  UniqueFd tty_;  // the terminal's master, kept for resize() (stdout_ closes at its end)
  std::mutex stdin_mutex_;
  UniqueFd stdin_;
  bool stdin_from_request_ = false;
  std::string pending_stdin_;
  std::size_t stdin_offset_ = 0;

  std::uint64_t output_limit_ = 0;
  std::optional<Clock::time_point> deadline_;
  Clock::time_point start_deadline_;
  Duration start_limit_{0};
  bool start_answered_ = false;  // "S", "X" or "E" came
  bool start_timed_out_ = false;
  // When the shepherd must have reported a SIGKILL's effect, in Clock ticks; 0 before any.
  // Set by kill() from any thread, which then wakes step() through wake_.
  std::atomic<Clock::rep> kill_deadline_{0};
  UniqueFd wake_;
  Clock::time_point started_;
  std::optional<Clock::time_point> ended_;
  std::string control_input_;
  std::optional<int> status_;
  std::string start_error_;
  bool control_lost_ = false;
  bool timed_out_ = false;
  bool kill_unanswered_ = false;  // timed out, and the shepherd did not report the kill in time
  bool kill_acknowledged_ = false;  // the shepherd answered "k": it runs and is ending the tree
  std::optional<ExecResult> result_;
  ExecResult collected_;
};

}  // namespace hutch::agent
