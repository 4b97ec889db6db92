// The service's registry of commands that outlive their request (server/process_registry.hpp),
// on the fake backend: the kept window of output, attaching twice, pids and tags, removal.
#include "process_registry.hpp"

#include "error_of.hpp"
#include "fake_backend.hpp"
#include "temp_dir.hpp"

#include <hutch/handle.hpp>

#include <gtest/gtest.h>

#include <chrono>

namespace hutch::server {
namespace {

using namespace std::chrono_literals;

class ProcessRegistryTest : public ::testing::Test {
 protected:
  void SetUp() override {
    backend_ = fake::make_fake_backend(fake::FakeOptions{dir_.path() / "state"});
    sandbox_ = backend_->create(SandboxSpec{});
  }
  void TearDown() override { sandbox_->destroy(); }

  std::shared_ptr<RunningProcess> start(std::vector<std::string> argv, std::optional<std::string> tag = std::nullopt) {
    ExecRequest request;
    request.argv = std::move(argv);
    request.timeout = 30s;
    auto process = sandbox_->spawn(request);
    return registry_.add(sandbox_->id(), std::move(tag), request, std::move(process));
  }

  // Everything an attachment from `cursor` gets until the end, and the result.
  static std::pair<std::string, ExecResult> drain(RunningProcess& running, RunningProcess::Cursor cursor) {
    std::string output;
    for (int i = 0; i < 300; ++i) {
      auto update = running.wait(cursor, 100ms);
      for (const OutputChunk& chunk : update.chunks) output += chunk.data;
      if (update.result) return {output, *update.result};
    }
    ADD_FAILURE() << "the command did not end in 30 s";
    return {output, {}};
  }

  test::TempDir dir_;
  std::shared_ptr<SandboxBackend> backend_;
  std::shared_ptr<Handle> sandbox_;
  ProcessRegistry registry_;
};

TEST_F(ProcessRegistryTest, KeepsTheNewestMebibyteOfAStreamNobodyReads) {
  constexpr std::size_t flood = 3u << 20;
  auto running = start({"yes-flood", std::to_string(flood)});
  // Nobody attached while it ran: the pump read it all, the command did not block.
  for (int i = 0; i < 300 && !running->ended(); ++i) std::this_thread::sleep_for(100ms);
  ASSERT_TRUE(running->ended());
  auto [kept, result] = drain(*running, running->oldest());
  EXPECT_EQ(result.exit_code, 0);
  EXPECT_LE(kept.size(), RunningProcess::kNewestKept + (64u << 10)) << "more than the window (and one chunk) was kept";
  EXPECT_GE(kept.size(), RunningProcess::kNewestKept - (64u << 10)) << "less than the window was kept";
  EXPECT_EQ(kept.substr(kept.size() - 4), "y\ny\n") << "the newest output is what stays";
}

TEST_F(ProcessRegistryTest, TwoAttachmentsEachGetTheWholeOutput) {
  auto running = start({"echo", "hello", "twice"});
  auto first = drain(*running, running->oldest());
  auto second = drain(*running, running->oldest());
  EXPECT_EQ(first.first, "hello twice\n");
  EXPECT_EQ(second.first, "hello twice\n");
  EXPECT_EQ(second.second.exit_code, 0);
}

TEST_F(ProcessRegistryTest, FindsByPidAndTagUntilTheCommandEnds) {
  auto sleeper = start({"sleep", "30"}, "server");
  EXPECT_EQ(registry_.find(sandbox_->id(), sleeper->pid()), sleeper);
  EXPECT_EQ(registry_.find_tag(sandbox_->id(), "server"), sleeper);
  EXPECT_EQ(test::code_of([&] { start({"sleep", "30"}, "server"); }), Errc::already_exists);
  EXPECT_EQ(test::code_of([&] { registry_.find("other-sandbox", sleeper->pid()); }), Errc::not_found);
  ASSERT_EQ(registry_.list(sandbox_->id()).size(), 1u);

  sleeper->kill(9);
  auto [output, result] = drain(*sleeper, sleeper->next());
  EXPECT_EQ(result.signal, 9);
  EXPECT_TRUE(registry_.list(sandbox_->id()).empty()) << "an ended command is no longer listed";
  EXPECT_EQ(test::code_of([&] { registry_.find(sandbox_->id(), sleeper->pid()); }), Errc::not_found);
}

TEST_F(ProcessRegistryTest, ForgettingASandboxKillsItsCommands) {
  auto sleeper = start({"sleep", "30"});
  const auto started = std::chrono::steady_clock::now();
  registry_.forget_sandbox(sandbox_->id());
  auto [output, result] = drain(*sleeper, sleeper->next());
  EXPECT_EQ(result.signal, 9);
  EXPECT_LT(std::chrono::steady_clock::now() - started, 10s);
  EXPECT_TRUE(registry_.list(sandbox_->id()).empty());
}

}  // namespace
}  // namespace hutch::server
