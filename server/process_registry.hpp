// ProcessRegistry: commands started through the service that outlive the request that started
// them (E2B's commands, which a client may leave running and connect to again by pid or tag;
// issue 15's background processes of /v1). Each registered command gets a pump thread that
// reads its output as it comes, so the command never blocks on a full pipe while nobody is
// attached, and keeps the newest kNewestKept bytes of each stream for the next attachment.
// Attachments follow the output from their cursor; a slow one skips what fell out of the kept
// window instead of growing the service's memory.
//
// A command is listed until it has ended; its entry (result included) lives on as long as an
// attachment holds it. All methods may be called from any thread.
#pragma once

#include <hutch/handle.hpp>
#include <hutch/process.hpp>
#include <hutch/types.hpp>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

namespace hutch::server {

class RunningProcess;
// Called on a command's pump thread once it ended (ProcessRegistry::on_exit).
using ExitHook = std::function<void(const RunningProcess& process, const ExecResult& result)>;

class RunningProcess {
 public:
  static constexpr std::size_t kNewestKept = 1u << 20;  // bytes kept per stream

  RunningProcess(std::string sandbox_id, std::uint32_t pid, std::optional<std::string> tag, ExecRequest request,
                 std::unique_ptr<Process> process, ExitHook on_exit = {});
  ~RunningProcess();  // kills the command if it still runs, joins the pump
  RunningProcess(const RunningProcess&) = delete;
  RunningProcess& operator=(const RunningProcess&) = delete;

  const std::string& sandbox_id() const { return sandbox_id_; }
  std::uint32_t pid() const { return pid_; }
  const std::optional<std::string>& tag() const { return tag_; }
  const ExecRequest& request() const { return request_; }

  // The command's stdin, signals and terminal, as Process's (they may run while the pump reads).
  // Writers from several requests take turns (Process allows one stdin writer at a time).
  void write_stdin(std::string_view data);
  void close_stdin();
  void kill(int signal) { process_->kill(signal); }
  void resize(std::uint16_t cols, std::uint16_t rows) { process_->resize(cols, rows); }

  // A position in the output: sequence numbers count chunks since the start.
  using Cursor = std::uint64_t;
  // The cursor of the oldest chunk still kept (to replay what is kept) and of the next one.
  Cursor oldest() const;
  Cursor next() const;
  // What an attachment gets from one wait: the chunks after `cursor` (the cursor moved past
  // them), and the result once the command ended and every chunk was taken. Waits up to
  // `timeout` for something new; both empty on a timeout (time for a keep-alive).
  struct Update {
    std::vector<OutputChunk> chunks;
    std::optional<ExecResult> result;
  };
  Update wait(Cursor& cursor, std::chrono::milliseconds timeout);
  bool ended() const;
  // Bytes of `stream` (stdout or stderr) that fell out of the kept window since the start:
  // what an attachment from oldest() can no longer get.
  std::uint64_t dropped(StreamId stream) const;

 private:
  void pump();

  std::string sandbox_id_;
  std::uint32_t pid_;
  std::optional<std::string> tag_;
  ExecRequest request_;
  std::unique_ptr<Process> process_;
  std::mutex stdin_mutex_;
  mutable std::mutex mutex_;
  std::condition_variable changed_;
  std::deque<OutputChunk> kept_;  // chunks kept_first_ .. kept_first_ + kept_.size() - 1
  Cursor kept_first_ = 0;
  std::size_t kept_bytes_[3] = {0, 0, 0};  // by StreamId
  std::uint64_t dropped_bytes_[3] = {0, 0, 0};
  std::optional<ExecResult> result_;
  ExitHook on_exit_;
  std::thread pump_;
};

class ProcessRegistry {
 public:
  // Spawns `request` in `sandbox` and registers it (add): a command that outlives its request,
  // for E2B's process.Start and /v1's POST …/processes.
  std::shared_ptr<RunningProcess> start(Handle& sandbox, std::optional<std::string> tag, ExecRequest request);
  // Registers a started command of sandbox `sandbox_id` under a new pid; its pump starts at
  // once. Errc::already_exists when `tag` names a running command of that sandbox.
  std::shared_ptr<RunningProcess> add(const std::string& sandbox_id, std::optional<std::string> tag, ExecRequest request,
                                      std::unique_ptr<Process> process);
  // The running command of the sandbox with this pid or tag; Errc::not_found naming it.
  std::shared_ptr<RunningProcess> find(const std::string& sandbox_id, std::uint32_t pid);
  std::shared_ptr<RunningProcess> find_tag(const std::string& sandbox_id, const std::string& tag);
  // The sandbox's commands that still run.
  std::vector<std::shared_ptr<RunningProcess>> list(const std::string& sandbox_id);
  // Kills and forgets every command of the sandbox (it is being removed).
  void forget_sandbox(const std::string& sandbox_id);
  // Set once, before any add(): called when a registered command ends (the "exited" event).
  void on_exit(ExitHook hook) { on_exit_ = std::move(hook); }
  // Clients following a command now (GET …/processes/{pid} as a WebSocket), for the
  // hutch_open_streams gauge: counted while an Attached lives.
  class Attached {
   public:
    explicit Attached(ProcessRegistry& registry) : registry_(registry) { ++registry_.attached_; }
    ~Attached() { --registry_.attached_; }
    Attached(const Attached&) = delete;
    Attached& operator=(const Attached&) = delete;

   private:
    ProcessRegistry& registry_;
  };
  std::size_t attached() const { return attached_; }

 private:
  ExitHook on_exit_;
  std::atomic<std::size_t> attached_{0};
  void drop_ended();
  std::mutex mutex_;
  std::uint32_t next_pid_ = 1000;
  std::map<std::pair<std::string, std::uint32_t>, std::shared_ptr<RunningProcess>> running_;
};

}  // namespace hutch::server
