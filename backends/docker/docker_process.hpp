// One command in a container, run through the exec API on a hijacked connection.
//
// Killing: the exec API cannot signal an exec, and a process group is not enough (a child may
// call setsid() or double-fork). So every exec gets a unique HUTCH_EXEC_ID=<marker> in its
// environment, which all its descendants inherit, and kill() runs a second exec that scans
// /proc inside the container for processes whose initial environment holds that marker and
// signals them, repeating for SIGKILL until none is left. Limits, documented in README.md: a
// descendant that re-execs with a cleared environment, or changes to another uid, escapes
// the scan; the sandbox's destroy() still ends it.
#pragma once

#include "context.hpp"
#include "engine/client.hpp"
#include "engine/frame_demuxer.hpp"

#include <hutch/process.hpp>

#include <atomic>
#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

namespace hutch::docker {

class DockerProcess final : public Process {
 public:
  // Creates and starts the exec. `default_user` applies when the request names none.
  // `attach_stdin`: keep stdin open for write_stdin (spawn) or attach none (buffered exec
  // without input). A request with stdin_data always attaches it, writes it and closes it.
  // `env_changes`: "K=V" / bare "K" (unset) entries that go before the request's env
  // (Handle::set_env; env_changes.hpp).
  static std::unique_ptr<DockerProcess> start(std::shared_ptr<Context> context, const std::string& container,
                                              const ExecRequest& request, const std::string& default_user,
                                              bool attach_stdin, const std::vector<std::string>& env_changes = {});
  ~DockerProcess() override;

  std::optional<OutputChunk> read_output() override;
  void write_stdin(std::string_view data) override;
  void close_stdin() override;
  ExecResult wait() override;
  void kill(int signal = 9) override;
  // POST /exec/<id>/resize.
  void resize(std::uint16_t cols, std::uint16_t rows) override;

  const std::string& marker() const { return marker_; }

 private:
  DockerProcess(std::shared_ptr<Context> context, std::string container, ExecRequest request, std::string user);
  void read_more();
  // Writes all of `data` to stdin. Without a request timeout it still never waits blindly:
  // while the command does not take input, it checks every request_timeout that the daemon
  // is alive (as reading does), so a dead daemon ends the write with an error.
  void write_to_stdin(std::string_view data);
  void on_deadline();
  void signal_tree(int signal);
  int inspect_exit_code();

  std::shared_ptr<Context> context_;
  std::string container_;
  ExecRequest request_;
  std::string user_;
  std::string marker_;
  std::string exec_id_;
  std::string what_;
  std::unique_ptr<RawStream> stream_;
  FrameDemuxer demuxer_;
  std::deque<OutputChunk> pending_;
  Clock::time_point started_;
  Deadline deadline_ = Deadline::max();
  bool stream_ended_ = false;
  bool timed_out_ = false;
  std::atomic<int> sent_signal_{0};
  std::optional<ExecResult> result_;
  bool stdin_attached_ = false;
  std::mutex stdin_mutex_;
  bool stdin_closed_ = false;
  std::thread stdin_writer_;
  std::exception_ptr stdin_error_;
};

// Runs a short helper command (as `user`, "0" for root) to completion and returns its result;
// the Fs and kill() use it. Throws like Handle::exec.
ExecResult run_helper(const std::shared_ptr<Context>& context, const std::string& container,
                      std::vector<std::string> argv, const std::string& user);

}  // namespace hutch::docker
