#include "process.hpp"

#include <hutch/error.hpp>

#include <condition_variable>
#include <csignal>
#include <deque>
#include <mutex>
#include <utility>

namespace hutch::fake {
namespace {

using Clock = std::chrono::steady_clock;

constexpr std::size_t kMaxQueuedBytes = 1 << 20;
constexpr std::size_t kMaxStdinChunk = 64 * 1024;

// Thrown through the interpreter when the command is killed or times out.
struct Terminated {};

std::size_t index_of(StreamId stream) { return stream == StreamId::stdout_stream ? 0 : 1; }

}  // namespace

class RunState final : public CommandIo {
 public:
  RunState(const ExecRequest& request, std::string sandbox_id)
      : sandbox_id_(std::move(sandbox_id)),
        output_limit_(request.output_limit),
        started_(Clock::now()) {
    if (request.timeout) deadline_ = started_ + *request.timeout;
  }

  // --- the command's side -----------------------------------------------------------------
  void write(StreamId stream, std::string_view data) override {
    std::unique_lock lock(mutex_);
    throw_if_ended(lock);
    auto& kept = kept_[index_of(stream)];
    std::size_t keep = static_cast<std::size_t>(
        std::min<std::uint64_t>(data.size(), output_limit_ - std::min(kept, output_limit_)));
    if (keep < data.size()) truncated_[index_of(stream)] = true;
    if (keep == 0) return;
    wait_until_or_deadline(lock, [&] { return ended() || queued_bytes_ < kMaxQueuedBytes; });
    throw_if_ended(lock);
    kept += keep;
    queued_bytes_ += keep;
    output_.push_back(OutputChunk{stream, std::string(data.substr(0, keep))});
    changed_.notify_all();
  }

  std::optional<std::string> read_stdin() override {
    std::unique_lock lock(mutex_);
    wait_until_or_deadline(lock, [&] { return ended() || !stdin_.empty() || stdin_closed_; });
    throw_if_ended(lock);
    if (stdin_.empty()) return std::nullopt;
    std::size_t size = std::min(stdin_.size(), kMaxStdinChunk);
    std::string chunk = stdin_.substr(0, size);
    stdin_.erase(0, size);
    return chunk;
  }

  void sleep_for(std::chrono::duration<double> seconds) override {
    std::unique_lock lock(mutex_);
    auto until = Clock::now() + std::chrono::duration_cast<Clock::duration>(seconds);
    if (deadline_ && *deadline_ < until) until = *deadline_;
    changed_.wait_until(lock, until, [&] { return ended(); });
    throw_if_ended(lock);
  }

  void ignore_term() override {
    std::lock_guard lock(mutex_);
    term_ = Term::ignored;
  }

  bool wait_for_term(std::chrono::duration<double> limit) override {
    std::unique_lock lock(mutex_);
    term_ = Term::trapped;
    auto until = Clock::now() + std::chrono::duration_cast<Clock::duration>(limit);
    if (deadline_ && *deadline_ < until) until = *deadline_;
    changed_.wait_until(lock, until, [&] { return ended() || term_pending_; });
    throw_if_ended(lock);
    return std::exchange(term_pending_, false);
  }

  void finish(CommandOutcome outcome) {
    std::lock_guard lock(mutex_);
    if (!timed_out_ && kill_signal_ == 0) {
      exit_code_ = outcome.exit_code;
      signal_ = outcome.signal;
    }
    finished_ = true;
    duration_ = std::chrono::duration_cast<Duration>(Clock::now() - started_);
    changed_.notify_all();
  }

  // --- the caller's side ------------------------------------------------------------------
  std::optional<OutputChunk> next_output() {
    std::unique_lock lock(mutex_);
    changed_.wait(lock, [&] { return !output_.empty() || finished_; });
    if (output_.empty()) return std::nullopt;
    OutputChunk chunk = std::move(output_.front());
    output_.pop_front();
    queued_bytes_ -= chunk.data.size();
    changed_.notify_all();
    return chunk;
  }

  void write_stdin(std::string_view data) {
    std::lock_guard lock(mutex_);
    if (stdin_closed_)
      throw Error(Errc::state, "stdin of a command in fake sandbox '" + sandbox_id_ +
                                   "' is already closed");
    if (finished_)
      throw Error(Errc::io, "command in fake sandbox '" + sandbox_id_ + "' has exited");
    stdin_.append(data);
    changed_.notify_all();
  }

  void close_stdin() {
    std::lock_guard lock(mutex_);
    stdin_closed_ = true;
    changed_.notify_all();
  }

  void kill(int signal) {
    std::lock_guard lock(mutex_);
    if (finished_ || signal == 0 || kill_signal_ != 0) return;
    kill_signal_ = signal;
    signal_ = signal;
    changed_.notify_all();
  }

  void terminate() {
    {
      std::lock_guard lock(mutex_);
      if (finished_ || term_ == Term::ignored) return;
      if (term_ == Term::trapped) {
        term_pending_ = true;
        changed_.notify_all();
        return;
      }
    }
    kill(SIGTERM);
  }

  bool wait_finished(Clock::time_point deadline) {
    std::unique_lock lock(mutex_);
    return changed_.wait_until(lock, deadline, [&] { return finished_; });
  }

  ExecResult wait() {
    std::unique_lock lock(mutex_);
    for (;;) {
      while (!output_.empty()) {
        auto& chunk = output_.front();
        (chunk.stream == StreamId::stdout_stream ? result_.stdout_data : result_.stderr_data)
            .append(chunk.data);
        queued_bytes_ -= chunk.data.size();
        output_.pop_front();
      }
      changed_.notify_all();
      if (finished_) break;
      changed_.wait(lock, [&] { return !output_.empty() || finished_; });
    }
    result_.exit_code = (signal_ != 0 || timed_out_) ? -1 : exit_code_;
    result_.signal = signal_;
    result_.timed_out = timed_out_;
    result_.stdout_truncated = truncated_[0];
    result_.stderr_truncated = truncated_[1];
    result_.duration = duration_;
    return result_;
  }

 private:
  bool ended() const { return kill_signal_ != 0 || timed_out_; }

  void throw_if_ended(std::unique_lock<std::mutex>&) {
    if (!ended() && deadline_ && Clock::now() >= *deadline_) {
      timed_out_ = true;
      signal_ = SIGKILL;  // what a real backend sends when the deadline passes
    }
    if (ended()) throw Terminated{};
  }

  template <class Predicate>
  void wait_until_or_deadline(std::unique_lock<std::mutex>& lock, Predicate ready) {
    if (deadline_) changed_.wait_until(lock, *deadline_, ready);
    else changed_.wait(lock, ready);
  }

  const std::string sandbox_id_;
  const std::uint64_t output_limit_;
  const Clock::time_point started_;
  std::optional<Clock::time_point> deadline_;

  std::mutex mutex_;
  std::condition_variable changed_;
  std::deque<OutputChunk> output_;
  std::size_t queued_bytes_ = 0;
  std::uint64_t kept_[2] = {0, 0};
  bool truncated_[2] = {false, false};
  std::string stdin_;
  bool stdin_closed_ = false;
  int kill_signal_ = 0;
  enum class Term { ends, trapped, ignored } term_ = Term::ends;
  bool term_pending_ = false;
  bool timed_out_ = false;
  bool finished_ = false;
  int exit_code_ = -1;
  int signal_ = 0;
  Duration duration_{0};
  ExecResult result_;  // output not yet returned by next_output, gathered by wait()
};

void kill_run(RunState& state, int signal) { state.kill(signal); }
void terminate_run(RunState& state) { state.terminate(); }
bool wait_run_ended(RunState& state, std::chrono::steady_clock::time_point deadline) {
  return state.wait_finished(deadline);
}

FakeProcess::FakeProcess(ExecRequest request, CommandContext context, std::string sandbox_id,
                         std::function<void()> on_end)
    : state_(std::make_shared<RunState>(request, sandbox_id)) {
  if (request.stdin_data) {
    state_->write_stdin(*request.stdin_data);
    state_->close_stdin();
  }
  worker_ = std::thread([state = state_, argv = std::move(request.argv), context = std::move(context),
                         on_end = std::move(on_end)] {
    CommandOutcome outcome;
    try {
      outcome = run_command(argv, context, *state);
    } catch (const Terminated&) {
    } catch (const std::exception& e) {
      try {
        state->write(StreamId::stderr_stream, std::string("fake: ") + e.what() + "\n");
      } catch (...) {
      }
      outcome = {1, 0};
    }
    // Before the end is seen: whoever waits for it finds the activity recorded.
    if (on_end) on_end();
    state->finish(outcome);
  });
}

FakeProcess::~FakeProcess() {
  state_->kill(SIGKILL);
  worker_.join();
}

std::optional<OutputChunk> FakeProcess::read_output() { return state_->next_output(); }
void FakeProcess::write_stdin(std::string_view data) { state_->write_stdin(data); }
void FakeProcess::close_stdin() { state_->close_stdin(); }
ExecResult FakeProcess::wait() { return state_->wait(); }
void FakeProcess::kill(int signal) { state_->kill(signal); }

}  // namespace hutch::fake
