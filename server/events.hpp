// EventHub: what happened to sandboxes through this service (created, started, stopped,
// expired, exited, destroyed, pool refilled, …), for GET /v1/events (Server-Sent Events,
// routes_events.cpp). Events come from the service's own operations only: a sandbox changed
// behind the service's back (by `hutch rm`, docker, a reboot) shows no event.
//
// Memory is bounded everywhere: the hub keeps the newest kRingSize events (for Last-Event-ID
// resumes), and each subscription queues at most kQueueSize events (pointers to the shared
// ones). A subscriber that falls further behind is marked lost: it gets what it had queued,
// then its stream ends with an "overflow" notice, and it can resume from the ring.
//
// All methods may be called from any thread.
#pragma once

#include <hutch/types.hpp>

#include <boost/json/object.hpp>

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <vector>

namespace hutch::server {

struct Event {
  std::uint64_t id = 0;  // one more for each event the hub published
  std::string type;      // one of kEventTypes
  std::string sandbox;   // empty for events about no one sandbox
  std::optional<std::string> tenant;  // the sandbox's hutch.tenant label
  // The `data:` line: {"type","id","time","sandbox","backend","labels","details"}, serialized once.
  std::string data;
};

// Every type an event may have (a ?type= filter naming another is refused).
extern const std::set<std::string> kEventTypes;

// Which events a subscriber gets.
struct EventFilter {
  // Set: only events of sandboxes with this tenant (events of no sandbox, such as a pool's, are
  // the operator's). Unset: every event.
  std::optional<std::string> tenant;
  std::optional<std::string> sandbox;  // only this sandbox's events
  std::set<std::string> types;         // empty: every type
  bool matches(const Event& event) const;
};

class EventHub;

class Subscription {
 public:
  // What one wait brings: events (oldest first), and the stream's state after them.
  struct Batch {
    std::vector<std::shared_ptr<const Event>> events;
    bool overflowed = false;  // the queue was full: events were dropped, the stream must end
    bool closed = false;      // the hub closed (the service drains): the stream must end
  };
  // Waits up to `timeout` for something new; an empty batch on a timeout.
  Batch next(std::chrono::milliseconds timeout);
  // Set when a resume asked for events older than the ring still has: the first id that is
  // still there (what came between is lost to this subscriber).
  std::optional<std::uint64_t> resume_gap() const { return resume_gap_; }

 private:
  friend class EventHub;
  EventFilter filter_;
  std::optional<std::uint64_t> resume_gap_;
  std::mutex mutex_;
  std::condition_variable changed_;
  std::deque<std::shared_ptr<const Event>> queue_;
  bool overflowed_ = false;
  bool closed_ = false;
};

class EventHub {
 public:
  static constexpr std::size_t kRingSize = 1024;   // events kept for resumes
  static constexpr std::size_t kQueueSize = 1024;  // events queued per subscriber at most

  // Ids count from `first_id`. The service starts them at its start time in microseconds'
  // worth of seconds (unix seconds × 10⁶, below 2⁵³ so JavaScript reads them exactly), so a
  // Last-Event-ID from an earlier run is older than every id of this one: a gap, not a mix-up.
  explicit EventHub(std::uint64_t first_id = 1) : last_id_(first_id - 1) {}

  // Publishes one event to every subscriber whose filter matches. `labels` are the sandbox's
  // (hutch.tenant among them decides who sees it); `backend` may be empty.
  void publish(const std::string& type, const std::string& sandbox, const std::string& backend, const Labels& labels,
               boost::json::object details = {});

  // A new subscriber: events from now on; with `last_id`, first the ring's events after it
  // (resume_gap() set when some after it are no longer kept). A closed hub answers a
  // subscription that is closed already.
  std::shared_ptr<Subscription> subscribe(EventFilter filter, std::optional<std::uint64_t> last_id);

  // Ends every subscription (their next() answers closed) and every later one: the drain.
  void close();

  // The subscriptions still held by someone (open streams).
  std::size_t subscribers();

  // How long a stream may stay silent before it sends a keep-alive comment.
  std::chrono::milliseconds keepalive() const { return keepalive_; }
  void set_keepalive(std::chrono::milliseconds interval) { keepalive_ = interval; }

 private:
  void deliver(Subscription& subscription, const std::shared_ptr<const Event>& event);

  std::mutex mutex_;
  std::uint64_t last_id_ = 0;
  std::deque<std::shared_ptr<const Event>> ring_;
  std::vector<std::weak_ptr<Subscription>> subscriptions_;
  bool closed_ = false;
  std::chrono::milliseconds keepalive_{15000};
};

}  // namespace hutch::server
