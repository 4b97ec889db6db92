#include "auto_pause.hpp"

#include <algorithm>

namespace hutch::server::e2b {

AutoPause::AutoPause(OnDeadline on_deadline) : on_deadline_(std::move(on_deadline)), thread_([this] { run(); }) {}

AutoPause::~AutoPause() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  thread_.join();
}

void AutoPause::arm(const std::string& sandbox_id, Clock::time_point deadline) {
  {
    std::lock_guard lock(mutex_);
    deadlines_[sandbox_id] = deadline;
  }
  wake_.notify_all();
}

std::optional<AutoPause::Clock::time_point> AutoPause::deadline(const std::string& sandbox_id) const {
  std::lock_guard lock(mutex_);
  auto found = deadlines_.find(sandbox_id);
  if (found == deadlines_.end()) return std::nullopt;
  return found->second;
}

void AutoPause::disarm(const std::string& sandbox_id) {
  std::lock_guard lock(mutex_);
  deadlines_.erase(sandbox_id);
}

void AutoPause::run() {
  std::unique_lock lock(mutex_);
  while (!stopping_) {
    auto first = std::min_element(deadlines_.begin(), deadlines_.end(),
                                  [](const auto& a, const auto& b) { return a.second < b.second; });
    if (first == deadlines_.end()) {
      wake_.wait(lock);
      continue;
    }
    if (Clock::now() < first->second) {
      // Woken early by arm/disarm/stop, or the clock moved: look again either way.
      wake_.wait_until(lock, first->second);
      continue;
    }
    const std::string id = first->first;
    deadlines_.erase(first);
    lock.unlock();
    on_deadline_(id);  // catches its own errors (E2b::reach_timeout)
    lock.lock();
  }
}

}  // namespace hutch::server::e2b
