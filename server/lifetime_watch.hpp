// LifetimeWatch: notices what happens to a sandbox without a request — its ttl or idle timeout
// ending it (the backend enforces lifetimes and reports the sandbox "expired"), its main command
// ending — so the service can publish "expired" and "exited" events. One thread polls the
// watched sandboxes' info(): a sandbox with an idle timeout or a running main command every
// `interval`, one with only a ttl once its expires_at has come, one with neither not at all.
// A sandbox the backend no longer knows is dropped silently.
#pragma once

#include <hutch/handle.hpp>

#include <boost/json/object.hpp>

#include <chrono>
#include <condition_variable>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>

namespace hutch::server {

class LifetimeWatch {
 public:
  // Called on the watch's thread with the event's type ("expired", "exited"), the sandbox and
  // the event's details.
  using Notify = std::function<void(const std::string& type, Handle& sandbox, boost::json::object details)>;

  LifetimeWatch(std::chrono::milliseconds interval, Notify notify);
  // stop().
  ~LifetimeWatch();
  LifetimeWatch(const LifetimeWatch&) = delete;
  LifetimeWatch& operator=(const LifetimeWatch&) = delete;

  // Starts watching the sandbox, or looks at it again after a change made through the service
  // (start, stop, new lifetimes, a launch): its current state becomes the one later changes are
  // compared with. Reads its info() on the caller's thread; failures are ignored (not watched).
  // `launched`: a main command was just launched (one that ended already still gets "exited").
  void watch(const std::shared_ptr<Handle>& sandbox, bool launched = false);
  void forget(const std::string& id);
  // Ends the thread. Idempotent.
  void stop();

 private:
  struct Entry {
    std::shared_ptr<Handle> sandbox;
    SandboxState state = SandboxState::unknown;
    std::optional<MainCommandState> main;
    std::chrono::steady_clock::time_point due;
  };
  // The entry's next look from `info`, or nullopt when there is nothing left to watch.
  std::optional<std::chrono::steady_clock::time_point> next_look(const Handle& sandbox, const SandboxInfo& info) const;
  void run();

  std::chrono::milliseconds interval_;
  Notify notify_;
  std::mutex mutex_;
  std::condition_variable wake_;
  std::map<std::string, Entry> entries_;
  bool stopping_ = false;
  std::thread thread_;
};

}  // namespace hutch::server
