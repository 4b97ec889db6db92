#include "process_registry.hpp"

#include <hutch/error.hpp>
#include <hutch/log.hpp>

#include <spdlog/spdlog.h>

namespace hutch::server {

RunningProcess::RunningProcess(std::string sandbox_id, std::uint32_t pid, std::optional<std::string> tag,
                               ExecRequest request, std::unique_ptr<Process> process, ExitHook on_exit)
    : sandbox_id_(std::move(sandbox_id)),
      pid_(pid),
      tag_(std::move(tag)),
      request_(std::move(request)),
      process_(std::move(process)),
      on_exit_(std::move(on_exit)) {
  pump_ = std::thread([this] { pump(); });
}

RunningProcess::~RunningProcess() {
  process_->kill(9);
  pump_.join();
}

void RunningProcess::write_stdin(std::string_view data) {
  std::lock_guard lock(stdin_mutex_);
  process_->write_stdin(data);
}

void RunningProcess::close_stdin() {
  std::lock_guard lock(stdin_mutex_);
  process_->close_stdin();
}

void RunningProcess::pump() {
  ExecResult result;
  try {
    while (auto chunk = process_->read_output()) {
      std::lock_guard lock(mutex_);
      const auto stream = static_cast<std::size_t>(chunk->stream);
      kept_bytes_[stream] += chunk->data.size();
      kept_.push_back(std::move(*chunk));
      // The oldest chunks go once a stream keeps more than its window (the newest chunk
      // always stays, however large).
      while (kept_.size() > 1 && (kept_bytes_[1] > kNewestKept || kept_bytes_[2] > kNewestKept)) {
        kept_bytes_[static_cast<std::size_t>(kept_.front().stream)] -= kept_.front().data.size();
        dropped_bytes_[static_cast<std::size_t>(kept_.front().stream)] += kept_.front().data.size();
        kept_.pop_front();
        ++kept_first_;
      }
      changed_.notify_all();
    }
    result = process_->wait();
  } catch (const Error& error) {
    logger()->warn("command {} in sandbox {}: {}", pid_, sandbox_id_, error.what());
    result.exit_code = -1;
    result.stderr_data = error.what();
  }
  {
    std::lock_guard lock(mutex_);
    result_ = result;
    changed_.notify_all();
  }
  if (on_exit_) {
    try {
      on_exit_(*this, result);
    } catch (const std::exception& error) {
      logger()->warn("command {} in sandbox {}: after its end: {}", pid_, sandbox_id_, error.what());
    }
  }
}

RunningProcess::Cursor RunningProcess::oldest() const {
  std::lock_guard lock(mutex_);
  return kept_first_;
}

RunningProcess::Cursor RunningProcess::next() const {
  std::lock_guard lock(mutex_);
  return kept_first_ + kept_.size();
}

std::uint64_t RunningProcess::dropped(StreamId stream) const {
  std::lock_guard lock(mutex_);
  return dropped_bytes_[static_cast<std::size_t>(stream)];
}

bool RunningProcess::ended() const {
  std::lock_guard lock(mutex_);
  return result_.has_value();
}

RunningProcess::Update RunningProcess::wait(Cursor& cursor, std::chrono::milliseconds timeout) {
  std::unique_lock lock(mutex_);
  changed_.wait_for(lock, timeout, [&] { return result_ || cursor < kept_first_ + kept_.size(); });
  Update update;
  if (cursor < kept_first_) cursor = kept_first_;  // fell behind the kept window
  for (; cursor < kept_first_ + kept_.size(); ++cursor) update.chunks.push_back(kept_[cursor - kept_first_]);
  if (result_) update.result = result_;
  return update;
}

std::shared_ptr<RunningProcess> ProcessRegistry::start(Handle& sandbox, std::optional<std::string> tag, ExecRequest request) {
  std::unique_ptr<Process> process = sandbox.spawn(request);
  return add(sandbox.id(), std::move(tag), std::move(request), std::move(process));
}

std::shared_ptr<RunningProcess> ProcessRegistry::add(const std::string& sandbox_id, std::optional<std::string> tag,
                                                     ExecRequest request, std::unique_ptr<Process> process) {
  std::lock_guard lock(mutex_);
  drop_ended();
  if (tag)
    for (const auto& [key, running] : running_)
      if (key.first == sandbox_id && running->tag() == tag)
        throw Error(Errc::already_exists, "a command tagged '" + *tag + "' already runs in sandbox " + sandbox_id);
  const std::uint32_t pid = next_pid_++;
  auto running = std::make_shared<RunningProcess>(sandbox_id, pid, std::move(tag), std::move(request), std::move(process), on_exit_);
  running_[{sandbox_id, pid}] = running;
  return running;
}

std::shared_ptr<RunningProcess> ProcessRegistry::find(const std::string& sandbox_id, std::uint32_t pid) {
  std::lock_guard lock(mutex_);
  drop_ended();
  auto found = running_.find({sandbox_id, pid});
  if (found == running_.end())
    throw Error(Errc::not_found, "no running command with pid " + std::to_string(pid) + " in sandbox " + sandbox_id);
  return found->second;
}

std::shared_ptr<RunningProcess> ProcessRegistry::find_tag(const std::string& sandbox_id, const std::string& tag) {
  std::lock_guard lock(mutex_);
  drop_ended();
  for (const auto& [key, running] : running_)
    if (key.first == sandbox_id && running->tag() == tag) return running;
  throw Error(Errc::not_found, "no running command tagged '" + tag + "' in sandbox " + sandbox_id);
}

std::vector<std::shared_ptr<RunningProcess>> ProcessRegistry::list(const std::string& sandbox_id) {
  std::lock_guard lock(mutex_);
  drop_ended();
  std::vector<std::shared_ptr<RunningProcess>> found;
  for (const auto& [key, running] : running_)
    if (key.first == sandbox_id) found.push_back(running);
  return found;
}

void ProcessRegistry::forget_sandbox(const std::string& sandbox_id) {
  std::vector<std::shared_ptr<RunningProcess>> dropped;  // destroyed (killed, joined) unlocked
  {
    std::lock_guard lock(mutex_);
    for (auto it = running_.begin(); it != running_.end();) {
      if (it->first.first == sandbox_id) {
        dropped.push_back(std::move(it->second));
        it = running_.erase(it);
      } else {
        ++it;
      }
    }
  }
  for (auto& running : dropped) running->kill(9);
}

void ProcessRegistry::drop_ended() {
  for (auto it = running_.begin(); it != running_.end();) {
    if (it->second->ended())
      it = running_.erase(it);
    else
      ++it;
  }
}

}  // namespace hutch::server
