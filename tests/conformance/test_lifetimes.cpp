// Lifetimes that enforce themselves (capability `lifetimes`): a sandbox ends by itself once
// its ttl or idle timeout has passed, with no prune; a running command keeps it from being
// idle; it is listed `expired` until prune removes it; Handle::set_lifetime moves the ttl.
// Backends with `stop` but without `lifetimes` (docker without its agent) still take
// set_lifetime, for prune to apply.
#include "fixture.hpp"

#include <thread>

namespace hutch::conformance {
namespace {

HUTCH_CONFORMANCE_SUITE(Lifetimes);

using Clock = std::chrono::steady_clock;

// How long until info().state is `wanted`; nullopt after `limit`.
std::optional<Clock::duration> wait_for_state(Handle& sandbox, SandboxState wanted, Duration limit) {
  auto started = Clock::now();
  while (Clock::now() - started < limit) {
    if (sandbox.info().state == wanted) return Clock::now() - started;
    std::this_thread::sleep_for(50ms);
  }
  return std::nullopt;
}

TEST_P(Lifetimes, IdleTimeoutWaitsForARunningCommandThenEndsTheSandbox) {
  if (!caps().lifetimes) GTEST_SKIP() << "no lifetimes capability: only prune applies them (see `hutch backends`)";
  auto spec = base_spec();
  spec.idle_timeout = 2s;
  auto sandbox = create(spec);
  auto command = sandbox->spawn(request(cmd().sleep(5)));
  std::this_thread::sleep_for(3s);
  EXPECT_EQ(sandbox->info().state, SandboxState::running) << "the idle timeout ended the sandbox while a command ran";
  auto result = command->wait();
  EXPECT_EQ(result.exit_code, 0) << result.stderr_data;
  auto ended = wait_for_state(*sandbox, SandboxState::expired, 15s);
  ASSERT_TRUE(ended.has_value()) << "the sandbox did not end by itself after its idle timeout";
  EXPECT_GE(*ended, 1s) << "it ended sooner than its idle timeout after the command";
}

// Before, prune judged idleness by the start of the last command: one that ran longer than
// the idle timeout had its sandbox removed under it.
TEST_P(Lifetimes, PruneLeavesASandboxWhoseCommandOutlastsItsIdleTimeout) {
  if (!caps().lifetimes) GTEST_SKIP() << "no lifetimes capability: prune alone judges idleness there";
  auto spec = base_spec();
  spec.idle_timeout = 1s;
  auto sandbox = create(spec);
  auto command = sandbox->spawn(request(cmd().sleep(4)));
  std::this_thread::sleep_for(2500ms);
  EXPECT_TRUE(backend().prune(test_filter()).empty()) << "prune removed a sandbox while its command ran";
  EXPECT_EQ(sandbox->info().state, SandboxState::running);
  EXPECT_EQ(command->wait().exit_code, 0);
}

// Idle means no host call and no attached stream: following the main command's log is one (the
// main command itself is not, or a service sandbox would never idle).
TEST_P(Lifetimes, FollowingTheMainLogKeepsTheSandboxFromIdling) {
  if (!caps().lifetimes || !caps().launch) GTEST_SKIP() << "needs lifetimes and launch";
  auto spec = base_spec();
  spec.idle_timeout = 2s;
  auto sandbox = create(spec);
  ExecRequest main;
  main.argv = cmd().tick(10);  // 5 s of output, well past the idle timeout
  sandbox->launch(main);
  const auto started = Clock::now();
  std::string followed;
  sandbox->logs(
      [&](std::string_view chunk) {
        followed.append(chunk);
        return true;
      },
      true);
  EXPECT_GE(Clock::now() - started, 4s) << "the follow ended early: " << followed;
  EXPECT_EQ(followed.size(), 10 * std::string("tick\n").size()) << followed;
  EXPECT_NE(sandbox->info().state, SandboxState::expired) << "the sandbox idled out while its log was followed";
  EXPECT_TRUE(wait_for_state(*sandbox, SandboxState::expired, 15s).has_value())
      << "the sandbox did not idle out once nothing followed it";
}

TEST_P(Lifetimes, TtlEndsTheSandboxWhichPruneThenRemoves) {
  if (!caps().lifetimes) GTEST_SKIP() << "no lifetimes capability: only prune applies them (see `hutch backends`)";
  auto spec = base_spec();
  spec.ttl = 2s;
  auto sandbox = create(spec);
  ASSERT_TRUE(sandbox->info().expires_at.has_value());
  EXPECT_TRUE(wait_for_state(*sandbox, SandboxState::expired, 15s).has_value()) << "the ttl did not end the sandbox";
  auto listed = backend().list(test_filter());
  ASSERT_EQ(listed.size(), 1u);
  EXPECT_EQ(listed[0].state, SandboxState::expired);
  // Create and list remove nothing; prune does.
  auto removed = backend().prune(test_filter());
  EXPECT_EQ(removed, std::vector<std::string>{sandbox->id()});
  EXPECT_TRUE(throws_errc(Errc::not_found, [&] { backend().resume(sandbox->id()); }));
}

// A ttl that passes before create returns (shorter than the sandbox's start) is no error: the
// sandbox is made and is expired, for prune.
TEST_P(Lifetimes, ATtlShorterThanTheStartGivesAnExpiredSandbox) {
  if (!caps().lifetimes) GTEST_SKIP() << "no lifetimes capability: only prune applies them (see `hutch backends`)";
  auto spec = base_spec();
  spec.ttl = 1ms;
  auto sandbox = create(spec);
  EXPECT_TRUE(wait_for_state(*sandbox, SandboxState::expired, 15s).has_value()) << "the ttl did not end the sandbox";
  EXPECT_EQ(backend().prune(test_filter()), std::vector<std::string>{sandbox->id()});
}

TEST_P(Lifetimes, SetLifetimeMovesTheTtl) {
  auto spec = base_spec();
  spec.ttl = 2s;
  auto sandbox = create(spec);
  if (!caps().stop) {
    EXPECT_TRUE(throws_errc(Errc::unsupported, [&] { sandbox->set_lifetime({1h, std::nullopt}); }));
    return;
  }
  sandbox->set_lifetime({1h, std::nullopt});
  auto expires = sandbox->info().expires_at;
  ASSERT_TRUE(expires.has_value());
  EXPECT_GT(*expires, std::chrono::system_clock::now() + 50min);
  std::this_thread::sleep_for(3500ms);
  EXPECT_EQ(sandbox->info().state, SandboxState::running) << "the first ttl still ended the sandbox";
  EXPECT_TRUE(backend().prune(test_filter()).empty()) << "prune applied the first ttl";
}

}  // namespace
}  // namespace hutch::conformance
