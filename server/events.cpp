#include "events.hpp"

#include "values_json.hpp"

#include <hutch/service_labels.hpp>

#include <boost/json/serialize.hpp>

#include <algorithm>
#include <cstdio>

namespace hutch::server {

namespace json = boost::json;

const std::set<std::string> kEventTypes{"created", "started", "stopped", "paused", "unpaused",
                                        "expired", "exited",  "destroyed", "pool_refilled"};

namespace {

// "2026-12-06T00:12:03.123Z": format_time's whole seconds, with milliseconds.
std::string format_time_ms(std::chrono::system_clock::time_point time) {
  const auto seconds = std::chrono::floor<std::chrono::seconds>(time);
  const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(time - seconds).count();
  std::string text = json_io::format_time(seconds);
  char fraction[8];
  std::snprintf(fraction, sizeof fraction, ".%03dZ", static_cast<int>(ms));
  text.pop_back();  // the 'Z'
  return text + fraction;
}

}  // namespace

bool EventFilter::matches(const Event& event) const {
  if (tenant && event.tenant != tenant) return false;
  if (sandbox && event.sandbox != *sandbox) return false;
  return types.empty() || types.count(event.type) != 0;
}

Subscription::Batch Subscription::next(std::chrono::milliseconds timeout) {
  std::unique_lock lock(mutex_);
  changed_.wait_for(lock, timeout, [&] { return !queue_.empty() || overflowed_ || closed_; });
  Batch batch;
  batch.events.assign(queue_.begin(), queue_.end());
  queue_.clear();
  batch.overflowed = overflowed_;
  batch.closed = closed_;
  return batch;
}

void EventHub::deliver(Subscription& subscription, const std::shared_ptr<const Event>& event) {
  if (!subscription.filter_.matches(*event)) return;
  std::lock_guard lock(subscription.mutex_);
  if (subscription.overflowed_ || subscription.closed_) return;
  if (subscription.queue_.size() >= kQueueSize)
    subscription.overflowed_ = true;
  else
    subscription.queue_.push_back(event);
  subscription.changed_.notify_all();
}

void EventHub::publish(const std::string& type, const std::string& sandbox, const std::string& backend,
                       const Labels& labels, json::object details) {
  auto event = std::make_shared<Event>();
  event->type = type;
  event->sandbox = sandbox;
  if (auto tenant = labels.find(kLabelTenant); tenant != labels.end()) event->tenant = tenant->second;
  std::lock_guard lock(mutex_);
  if (closed_) return;
  event->id = ++last_id_;
  json::object data{{"type", type},
                    {"id", event->id},
                    {"time", format_time_ms(std::chrono::system_clock::now())},
                    {"sandbox", sandbox.empty() ? json::value(nullptr) : json::value(sandbox)},
                    {"backend", backend.empty() ? json::value(nullptr) : json::value(backend)},
                    {"labels", json_io::to_json(labels)},
                    {"details", std::move(details)}};
  event->data = json::serialize(data);
  std::shared_ptr<const Event> shared = std::move(event);
  ring_.push_back(shared);
  if (ring_.size() > kRingSize) ring_.pop_front();
  std::erase_if(subscriptions_, [](const auto& weak) { return weak.expired(); });
  for (const auto& weak : subscriptions_)
    if (auto subscription = weak.lock()) deliver(*subscription, shared);
}

std::shared_ptr<Subscription> EventHub::subscribe(EventFilter filter, std::optional<std::uint64_t> last_id) {
  auto subscription = std::make_shared<Subscription>();
  subscription->filter_ = std::move(filter);
  std::lock_guard lock(mutex_);
  if (closed_) {
    subscription->closed_ = true;
    return subscription;
  }
  // An id from a service that restarted since (ids start again at 1) is ahead of ours: from now.
  if (last_id && *last_id < last_id_) {
    if (ring_.empty() || ring_.front()->id > *last_id + 1)
      subscription->resume_gap_ = ring_.empty() ? last_id_ + 1 : ring_.front()->id;
    for (const auto& event : ring_)
      if (event->id > *last_id) deliver(*subscription, event);
  }
  std::erase_if(subscriptions_, [](const auto& weak) { return weak.expired(); });
  subscriptions_.push_back(subscription);
  return subscription;
}

void EventHub::close() {
  std::lock_guard lock(mutex_);
  closed_ = true;
  for (const auto& weak : subscriptions_) {
    if (auto subscription = weak.lock()) {
      std::lock_guard inner(subscription->mutex_);
      subscription->closed_ = true;
      subscription->changed_.notify_all();
    }
  }
}

std::size_t EventHub::subscribers() {
  std::lock_guard lock(mutex_);
  return static_cast<std::size_t>(std::count_if(subscriptions_.begin(), subscriptions_.end(),
                                                [](const auto& weak) { return !weak.expired(); }));
}

}  // namespace hutch::server
