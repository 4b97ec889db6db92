// Attacks of issue 12 from inside a sandbox on the agent that runs its commands (PID 1 and its
// shepherds, core/agent), shared by the docker and subcontainer suites: the checks take a
// Handle and report through gtest. Finding 3: the memory of PID 1 and the shepherds; finding 7:
// root in the sandbox stops the shepherds (SIGSTOP), and the host's calls must still end.
#pragma once

#include "error_of.hpp"

#include <hutch/handle.hpp>

#include <gtest/gtest.h>

#include <signal.h>

#include <chrono>
#include <future>
#include <optional>
#include <sstream>
#include <string>
#include <thread>

namespace hutch::test {

inline constexpr const char* kShepherdsStoppedMarker = "/tmp/hutch-shepherds-stopped";

// A `sh -c` script that prints "<pid> <probe's answer>" for PID 1 and each of its children
// (the shepherds: forked by PID 1, never exec'd) after `probe` (hutch-test-probe's path inside)
// tried to open their /proc/<pid>/mem.
inline std::string probe_agent_memory_script(const std::string& probe) {
  return "for d in /proc/[0-9]*; do p=${d#/proc/}; "
         "[ $p = 1 ] || [ \"$(cut -d' ' -f4 $d/stat 2>/dev/null)\" = 1 ] || continue; "
         "echo \"$p $(" + probe + " open-mem $p)\"; done";
}

// Expects `output` (of probe_agent_memory_script) to show every open refused, for at least
// `at_least` processes; `pid1` says whether PID 1 must be among them.
inline void expect_memory_refused(const std::string& output, int at_least, bool pid1) {
  std::istringstream lines(output);
  int checked = 0;
  bool saw_pid1 = false;
  for (std::string line; std::getline(lines, line);) {
    if (!pid1 && line.rfind("1 ", 0) == 0) continue;
    saw_pid1 = saw_pid1 || line.rfind("1 ", 0) == 0;
    ++checked;
    EXPECT_NE(line.find("refused: Permission denied"), std::string::npos) << "opened: " << line;
  }
  EXPECT_GE(checked, at_least) << output;
  if (pid1) EXPECT_TRUE(saw_pid1) << "PID 1 was not probed: " << output;
}

inline double seconds_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

// The error `call` throws, run on a thread: nullopt when it is still running after 20 s (the
// hang these deadlines are about). The sandbox is then destroyed, which ends the call, so that
// the test goes on and fails instead of hanging.
template <class Call>
std::optional<Error> error_within_20s(Handle& sandbox, Call call) {
  auto future = std::async(std::launch::async, [&] { return error_of(call); });
  if (future.wait_for(std::chrono::seconds(20)) == std::future_status::ready) return future.get();
  sandbox.destroy();
  future.wait();
  return std::nullopt;
}

inline ExecResult sh_in(Handle& sandbox, const std::string& script) {
  ExecRequest request;
  request.argv = {"sh", "-c", script};
  request.stdin_data = std::string();
  request.timeout = std::chrono::seconds(60);
  return sandbox.exec(request);
}

// A `sh -c` script that returns at once and leaves behind a process that, once the shepherd
// that ran the script has gone (it does not serve again after a command that left something
// running), stops every other child of PID 1 and then creates kShepherdsStoppedMarker.
inline std::string stop_shepherds_script() {
  return std::string("setsid sh -c 'while [ -d /proc/$1 ]; do sleep 0.1; done; for d in /proc/[0-9]*; do "
                     "p=${d#/proc/}; [ \"$(cut -d\" \" -f4 $d/stat 2>/dev/null)\" = 1 ] && [ $p != $$ ] && "
                     "kill -STOP $p; done; touch ") +
         kShepherdsStoppedMarker + "' stopper $PPID >/dev/null 2>&1 </dev/null &";
}

// Stops every shepherd from inside (stop_shepherds_script) and waits until it is done.
inline void stop_shepherds(Handle& sandbox) {
  ASSERT_EQ(sh_in(sandbox, stop_shepherds_script()).exit_code, 0);
  const auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  while (!sandbox.fs().exists(kShepherdsStoppedMarker)) {
    ASSERT_LT(std::chrono::steady_clock::now(), give_up) << "the shepherds were never stopped";
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
}

// Finding 7: with every shepherd stopped, nothing takes the host's request; exec fails once the
// start deadline has passed, naming the sandbox, instead of waiting for ever; and a timeout
// bounds the whole call, the start included.
inline void expect_exec_ends_at_the_start_deadline(Handle& sandbox) {
  stop_shepherds(sandbox);
  if (::testing::Test::HasFatalFailure()) return;
  ExecRequest request;
  request.argv = {"true"};
  request.start_timeout = std::chrono::seconds(1);
  auto start = std::chrono::steady_clock::now();
  const auto error = error_within_20s(sandbox, [&] { sandbox.exec(request); });
  ASSERT_TRUE(error) << "exec still waits for the stopped shepherds";
  EXPECT_LT(seconds_since(start), 5.0);
  EXPECT_EQ(error->code(), Errc::timeout) << error->what();
  EXPECT_NE(std::string(error->what()).find(sandbox.id()), std::string::npos) << error->what();
  EXPECT_NE(std::string(error->what()).find("did not start"), std::string::npos) << error->what();

  request.start_timeout.reset();
  request.timeout = std::chrono::seconds(3);
  start = std::chrono::steady_clock::now();
  const auto timed_out = error_within_20s(sandbox, [&] { sandbox.exec(request); });
  ASSERT_TRUE(timed_out) << "a 3 s timeout did not end exec";
  EXPECT_EQ(timed_out->code(), Errc::state) << timed_out->what();
  EXPECT_NE(std::string(timed_out->what()).find("timed out"), std::string::npos) << timed_out->what();
  EXPECT_LT(seconds_since(start), 6.0) << "a 3 s timeout held the caller much longer";
}

// A `sh -c` script whose own shepherd stops once the command runs: the host's kill is then never
// carried out.
inline constexpr const char* kStopOwnShepherdScript = "kill -STOP $PPID; sleep 60";

// Finding 7: a command whose shepherd is stopped after the start: neither the timeout's kill nor
// a caller's SIGKILL is carried out, and the call still ends soon after.
inline void expect_a_stopped_shepherd_holds_neither_timeout_nor_kill(Handle& sandbox) {
  ExecRequest request;
  request.argv = {"sh", "-c", kStopOwnShepherdScript};
  request.stdin_data = std::string();
  request.timeout = std::chrono::seconds(3);
  auto start = std::chrono::steady_clock::now();
  const auto timed_out = error_within_20s(sandbox, [&] { sandbox.exec(request); });
  ASSERT_TRUE(timed_out) << "the timeout did not end exec";
  EXPECT_EQ(timed_out->code(), Errc::state) << timed_out->what();
  EXPECT_LT(seconds_since(start), 6.0) << "a 3 s timeout held the caller much longer";

  request.timeout.reset();
  auto process = sandbox.spawn(request);
  std::this_thread::sleep_for(std::chrono::milliseconds(500));  // the shepherd stops itself meanwhile
  start = std::chrono::steady_clock::now();
  std::jthread killer([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    process->kill(SIGKILL);
  });
  const auto killed = error_within_20s(sandbox, [&] { process->wait(); });
  killer.join();
  ASSERT_TRUE(killed) << "wait() ignores the kill";
  EXPECT_EQ(killed->code(), Errc::state) << killed->what();
  EXPECT_NE(std::string(killed->what()).find("was killed"), std::string::npos) << killed->what();
  EXPECT_LT(seconds_since(start), 5.0);
}

}  // namespace hutch::test
