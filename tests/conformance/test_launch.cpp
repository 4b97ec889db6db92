// The main command (Handle::launch, Handle::logs): it runs, its output is in the log, its end
// is in info(), a later launch replaces it — or, when capabilities().launch is false, both
// verbs fail with Errc::unsupported.
#include "fixture.hpp"

#include <thread>

namespace hutch::conformance {
namespace {

HUTCH_CONFORMANCE_SUITE(MainCommand);

ExecRequest main_command(Argv argv) {
  ExecRequest request;  // no timeout: a main command has none
  request.argv = std::move(argv);
  return request;
}

std::optional<MainCommandInfo> wait_until_ended(Handle& sandbox) {
  for (int i = 0; i < 600; ++i) {
    auto main = sandbox.info().main_command;
    if (main && main->state != MainCommandState::running) return main;
    std::this_thread::sleep_for(50ms);
  }
  return std::nullopt;
}

std::string log_of(Handle& sandbox) {
  std::string text;
  sandbox.logs([&](std::string_view chunk) {
    text.append(chunk);
    return true;
  });
  return text;
}

TEST_P(MainCommand, LaunchRunsLogsAndReplaces) {
  auto sandbox = create();
  if (!caps().launch) {
    EXPECT_TRUE(throws_errc(Errc::unsupported, [&] { sandbox->launch(main_command(cmd().print_stdout("x"))); }));
    EXPECT_TRUE(throws_errc(Errc::unsupported, [&] { sandbox->logs([](std::string_view) { return true; }); }));
    return;
  }
  EXPECT_FALSE(sandbox->info().main_command.has_value());
  EXPECT_TRUE(throws_errc(Errc::not_found, [&] { sandbox->logs([](std::string_view) { return true; }); }));

  MainCommandInfo started = sandbox->launch(main_command(cmd().print_stdout("from-main")));
  EXPECT_EQ(started.argv, cmd().print_stdout("from-main"));
  auto ended = wait_until_ended(*sandbox);
  ASSERT_TRUE(ended.has_value()) << "the main command did not end";
  EXPECT_EQ(ended->state, MainCommandState::exited);
  EXPECT_EQ(ended->exit_code, 0);
  EXPECT_EQ(log_of(*sandbox), "from-main\n");

  sandbox->launch(main_command(cmd().sleep(60)));
  auto resumed = backend().resume(sandbox->id());
  ASSERT_TRUE(resumed->info().main_command.has_value());
  EXPECT_EQ(resumed->info().main_command->state, MainCommandState::running);
  // Replaces the sleeping one (which SIGTERM ends).
  sandbox->launch(main_command(cmd().exit_with(3)));
  ended = wait_until_ended(*sandbox);
  ASSERT_TRUE(ended.has_value()) << "the replacing main command did not end";
  EXPECT_EQ(ended->state, MainCommandState::exited);
  EXPECT_EQ(ended->exit_code, 3);
}

}  // namespace
}  // namespace hutch::conformance
