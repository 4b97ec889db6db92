#include "main_slot.hpp"

#include "process_tree.hpp"
#include "shepherd_notice.hpp"

#include <signal.h>

#include <algorithm>

namespace hutch::agent {
namespace {

// While a stop is past its grace: how often SIGKILL is sent again (a process forked between
// two rounds is caught by the next).
constexpr int kKillRepeatMs = 100;

}  // namespace

void MainSlot::queue(pid_t shepherd, std::uint32_t stop_grace_ms) { waiting_.push_back({shepherd, stop_grace_ms}); }

void MainSlot::reaped(pid_t pid) {
  if (pid == current_) {
    current_ = -1;
    stopping_ = false;
  }
  std::erase_if(waiting_, [pid](const Waiting& w) { return w.shepherd == pid; });
}

void MainSlot::advance() {
  if (waiting_.empty()) return;
  if (current_ < 0) {
    // The last launch wins: those it superseded never start.
    while (waiting_.size() > 1) {
      ::kill(waiting_.front().shepherd, kAbortMainSignal);
      waiting_.pop_front();
    }
    current_ = waiting_.front().shepherd;
    waiting_.pop_front();
    ::kill(current_, kStartMainSignal);
    return;
  }
  auto now = Clock::now();
  if (!stopping_) {
    stopping_ = true;
    kill_at_ = now + std::chrono::milliseconds(waiting_.back().stop_grace_ms);
    signal_tree(current_, SIGTERM);
  }
  if (now >= kill_at_) signal_tree(current_, SIGKILL);
}

int MainSlot::poll_timeout_ms() const {
  if (!stopping_) return -1;
  auto left = std::chrono::duration_cast<std::chrono::milliseconds>(kill_at_ - Clock::now()).count();
  return left > 0 ? static_cast<int>(std::min<long long>(left + 1, 1 << 30)) : kKillRepeatMs;
}

}  // namespace hutch::agent
