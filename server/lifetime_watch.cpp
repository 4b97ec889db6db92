#include "lifetime_watch.hpp"

#include "values_json.hpp"

#include <hutch/error.hpp>
#include <hutch/log.hpp>

#include <spdlog/spdlog.h>

#include <vector>

namespace hutch::server {

namespace json = boost::json;

LifetimeWatch::LifetimeWatch(std::chrono::milliseconds interval, Notify notify)
    : interval_(interval), notify_(std::move(notify)), thread_([this] { run(); }) {}

LifetimeWatch::~LifetimeWatch() { stop(); }

void LifetimeWatch::stop() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
    wake_.notify_all();
  }
  if (thread_.joinable()) thread_.join();
}

std::optional<std::chrono::steady_clock::time_point> LifetimeWatch::next_look(const Handle& sandbox,
                                                                               const SandboxInfo& info) const {
  const auto now = std::chrono::steady_clock::now();
  const bool main_running = info.main_command && info.main_command->state == MainCommandState::running;
  if (info.state == SandboxState::expired) {
    if (main_running) return now + interval_;
    return std::nullopt;  // nothing more happens to it until it is started again (watch() then)
  }
  if (main_running || sandbox.spec().idle_timeout) return now + interval_;
  if (info.expires_at) {
    // The system clock's expires_at, on the steady clock; at least one interval from now.
    const auto left = *info.expires_at - std::chrono::system_clock::now();
    return now + std::max<std::chrono::steady_clock::duration>(
                     std::chrono::duration_cast<std::chrono::steady_clock::duration>(left), interval_);
  }
  return std::nullopt;
}

void LifetimeWatch::watch(const std::shared_ptr<Handle>& sandbox, bool launched) {
  SandboxInfo info;
  try {
    info = sandbox->info();
  } catch (const std::exception& error) {
    logger()->debug("lifetime watch: sandbox {}: {}", sandbox->id(), error.what());
    return;
  }
  std::lock_guard lock(mutex_);
  Entry entry{sandbox, info.state, std::nullopt, {}};
  if (info.main_command) entry.main = info.main_command->state;
  // A command launched just now may have ended already: it still gets its "exited", at once.
  if (launched && info.main_command && info.main_command->state != MainCommandState::running) {
    entry.main = MainCommandState::running;
    entry.due = std::chrono::steady_clock::now();
    entries_[sandbox->id()] = std::move(entry);
    wake_.notify_all();
    return;
  }
  auto due = next_look(*sandbox, info);
  if (!due) {
    entries_.erase(sandbox->id());
    return;
  }
  entry.due = *due;
  entries_[sandbox->id()] = std::move(entry);
  wake_.notify_all();
}

void LifetimeWatch::forget(const std::string& id) {
  std::lock_guard lock(mutex_);
  entries_.erase(id);
}

void LifetimeWatch::run() {
  std::unique_lock lock(mutex_);
  while (!stopping_) {
    const auto now = std::chrono::steady_clock::now();
    std::vector<Entry> due;
    auto earliest = now + std::chrono::hours(1);
    for (const auto& [id, entry] : entries_) {
      if (entry.due <= now) due.push_back(entry);
      else earliest = std::min(earliest, entry.due);
    }
    if (due.empty()) {
      wake_.wait_until(lock, earliest);
      continue;
    }
    lock.unlock();
    for (Entry& entry : due) {
      SandboxInfo info;
      bool gone = false;
      try {
        info = entry.sandbox->info();
      } catch (const Error& error) {
        gone = error.code() == Errc::not_found;
        if (!gone) logger()->debug("lifetime watch: sandbox {}: {}", entry.sandbox->id(), error.what());
      } catch (const std::exception& error) {
        logger()->debug("lifetime watch: sandbox {}: {}", entry.sandbox->id(), error.what());
      }
      if (!gone && info.id.empty()) info.state = entry.state;  // unreadable now: look again later
      if (!gone && info.state == SandboxState::expired && entry.state != SandboxState::expired)
        notify_("expired", *entry.sandbox,
                json::object{{"expires_at", info.expires_at ? json::value(json_io::format_time(*info.expires_at)) : nullptr}});
      if (!gone && entry.main == MainCommandState::running && info.main_command &&
          info.main_command->state != MainCommandState::running)
        notify_("exited", *entry.sandbox, json::object{{"main_command", true}, {"command", json_io::to_json(*info.main_command)}});
      lock.lock();
      auto current = entries_.find(entry.sandbox->id());
      // A watch() or forget() while the info was read has the newer word.
      if (current != entries_.end() && current->second.due == entry.due) {
        std::optional<std::chrono::steady_clock::time_point> next;
        if (!gone && !info.id.empty()) next = next_look(*entry.sandbox, info);
        else if (!gone) next = std::chrono::steady_clock::now() + interval_;
        if (!next) {
          entries_.erase(current);
        } else {
          current->second.due = *next;
          if (!info.id.empty()) {
            current->second.state = info.state;
            current->second.main = info.main_command ? std::optional(info.main_command->state) : std::nullopt;
          }
        }
      }
      lock.unlock();
    }
    lock.lock();
  }
}

}  // namespace hutch::server
