// The service's event hub (server/events.hpp): filters (tenant, sandbox, types), the bounded
// queue of a slow subscriber, resumes from the ring (with the gap when it is too old), and the
// drain's close.
#include "events.hpp"

#include <hutch/service_labels.hpp>

#include <boost/json.hpp>

#include <gtest/gtest.h>

namespace hutch::server {
namespace {

using namespace std::chrono_literals;

std::vector<std::uint64_t> ids(const Subscription::Batch& batch) {
  std::vector<std::uint64_t> out;
  for (const auto& event : batch.events) out.push_back(event->id);
  return out;
}

TEST(EventHub, DeliversInOrderWithTheDataOfEachEvent) {
  EventHub hub;
  auto subscription = hub.subscribe({}, std::nullopt);
  hub.publish("created", "sb1", "fake", {{"team", "a"}}, boost::json::object{{"pool", "p"}});
  hub.publish("destroyed", "sb1", "fake", {{"team", "a"}});
  const auto batch = subscription->next(1s);
  ASSERT_EQ(ids(batch), (std::vector<std::uint64_t>{1, 2}));
  const boost::json::value data = boost::json::parse(batch.events[0]->data);
  EXPECT_EQ(data.at("type").as_string(), "created");
  EXPECT_EQ(data.at("sandbox").as_string(), "sb1");
  EXPECT_EQ(data.at("backend").as_string(), "fake");
  EXPECT_EQ(data.at("labels").at("team").as_string(), "a");
  EXPECT_EQ(data.at("details").at("pool").as_string(), "p");
  EXPECT_EQ(boost::json::parse(batch.events[1]->data).at("type").as_string(), "destroyed");
}

TEST(EventHub, ATenantSeesOnlyItsSandboxesAndFiltersApply) {
  EventHub hub;
  auto alice = hub.subscribe(EventFilter{"alice", std::nullopt, {}}, std::nullopt);
  auto operator_only_stopped = hub.subscribe(EventFilter{std::nullopt, std::nullopt, {"stopped"}}, std::nullopt);
  auto one_sandbox = hub.subscribe(EventFilter{std::nullopt, std::string("b"), {}}, std::nullopt);
  hub.publish("created", "a", "fake", {{kLabelTenant, "alice"}});
  hub.publish("created", "b", "fake", {{kLabelTenant, "bob"}});
  hub.publish("stopped", "b", "fake", {{kLabelTenant, "bob"}});
  hub.publish("pool_refilled", "p", "fake", {});
  EXPECT_EQ(ids(alice->next(100ms)), (std::vector<std::uint64_t>{1}));
  EXPECT_EQ(ids(operator_only_stopped->next(100ms)), (std::vector<std::uint64_t>{3}));
  EXPECT_EQ(ids(one_sandbox->next(100ms)), (std::vector<std::uint64_t>{2, 3}));
}

TEST(EventHub, ASlowSubscriberOverflowsInsteadOfGrowing) {
  EventHub hub;
  auto slow = hub.subscribe({}, std::nullopt);
  for (std::size_t i = 0; i < EventHub::kQueueSize + 10; ++i) hub.publish("created", "x", "fake", {});
  const auto batch = slow->next(1s);
  EXPECT_EQ(batch.events.size(), EventHub::kQueueSize);
  EXPECT_TRUE(batch.overflowed);
  // Nothing more is queued for it once it overflowed.
  hub.publish("created", "x", "fake", {});
  EXPECT_TRUE(slow->next(10ms).events.empty());
}

TEST(EventHub, ResumesFromTheRingAndSaysWhatItNoLongerHas) {
  EventHub hub;
  for (int i = 0; i < 5; ++i) hub.publish("created", "x", "fake", {});
  auto resumed = hub.subscribe({}, 3);
  EXPECT_FALSE(resumed->resume_gap());
  EXPECT_EQ(ids(resumed->next(100ms)), (std::vector<std::uint64_t>{4, 5}));
  for (std::size_t i = 0; i < EventHub::kRingSize; ++i) hub.publish("created", "x", "fake", {});
  auto too_old = hub.subscribe({}, 2);
  ASSERT_TRUE(too_old->resume_gap());
  // 5 + kRingSize events: the ring keeps the newest kRingSize, from id 6.
  EXPECT_EQ(*too_old->resume_gap(), 6u);
  const auto batch = too_old->next(100ms);
  ASSERT_EQ(batch.events.size(), EventHub::kRingSize);
  EXPECT_EQ(batch.events.front()->id, *too_old->resume_gap());
}

TEST(EventHub, CloseEndsEverySubscriptionAndLaterOnes) {
  EventHub hub;
  auto open = hub.subscribe({}, std::nullopt);
  EXPECT_EQ(hub.subscribers(), 1u);
  hub.close();
  EXPECT_TRUE(open->next(1s).closed);
  EXPECT_TRUE(hub.subscribe({}, std::nullopt)->next(1s).closed);
  open.reset();
  EXPECT_EQ(hub.subscribers(), 0u);
}

}  // namespace
}  // namespace hutch::server
