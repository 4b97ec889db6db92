// `hutch run -it` through a real terminal (issue 14, item 1): hutch runs in a tmux pane, the
// test types with send-keys and reads the screen with capture-pane. On both real backends: the
// shell's prompt appears, `stty size` follows a resize of the pane, busybox vi opens and quits,
// Ctrl-C interrupts `sleep` in the sandbox (not hutch), job control works, the shell's exit
// code is hutch's, and our terminal's settings are back afterwards.
#include "cli_fixture.hpp"
#include "namespaces.hpp"
#include "require.hpp"

#include <signal.h>
#include <sys/stat.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <thread>

namespace hutch::test {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

const fs::path kSubcontainerPlugin = fs::path(HUTCH_PLUGIN_OUTPUT_DIR) / "hutch-subcontainer.so";
const fs::path kDockerPlugin = fs::path(HUTCH_PLUGIN_OUTPUT_DIR) / "hutch-docker.so";

// Quotes `text` for sh.
std::string quoted(const std::string& text) {
  std::string out = "'";
  for (char c : text) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return out + "'";
}

// Runs `command` with sh and returns its stdout.
std::string shell_output(const std::string& command) {
  std::string out;
  FILE* pipe = ::popen(command.c_str(), "r");
  if (pipe == nullptr) return out;
  char buffer[4096];
  std::size_t n;
  while ((n = std::fread(buffer, 1, sizeof buffer, pipe)) > 0) out.append(buffer, n);
  ::pclose(pipe);
  return out;
}

class TerminalCliTest : public HutchCliTest {
 protected:
  void TearDown() override {
    if (started_) {
      const std::string server = shell_output(tmux() + " display-message -p '#{pid}' 2>/dev/null");
      (void)!std::system((tmux() + " kill-server 2>/dev/null").c_str());
      // kill-server returns before the server is gone; the leak guard must not find it.
      const pid_t pid = server.empty() ? 0 : static_cast<pid_t>(std::stol(server));
      const auto give_up = std::chrono::steady_clock::now() + 10s;
      while (pid > 0 && ::kill(pid, 0) == 0 && std::chrono::steady_clock::now() < give_up)
        std::this_thread::sleep_for(20ms);
    }
    HutchCliTest::TearDown();
  }

  std::string tmux() const { return "tmux -S " + quoted((dir() / "tmux.sock").string()); }

  // Starts `hutch ARGS` in an 80x24 tmux pane, from a script that records our terminal's
  // settings before and after, and hutch's exit status.
  void start(const std::vector<std::string>& args) {
    ASSERT_EQ(std::system("tmux -V >/dev/null 2>&1"), 0) << "tmux is missing (.ci/install-deps.sh test)";
    std::string command = quoted(HUTCH_EXE) + " --config " + quoted(config().string());
    for (const auto& arg : args) command += " " + quoted(arg);
    const fs::path script = dir() / "session.sh";
    write_file(script, "stty -g > " + quoted((dir() / "stty-before").string()) + "\n" + command +
                           "\necho $? > " + quoted((dir() / "exit-status").string()) + ".tmp\n" +
                           "stty -g > " + quoted((dir() / "stty-after").string()) + "\n" +
                           "mv " + quoted((dir() / "exit-status").string()) + ".tmp " +
                           quoted((dir() / "exit-status").string()) + "\nexec sleep 1000\n");
    started_ = true;
    ASSERT_EQ(std::system((tmux() + " new-session -d -x 80 -y 24 -s hutch-tty sh " + quoted(script.string())).c_str()), 0);
  }

  std::string screen() const { return shell_output(tmux() + " capture-pane -p -t hutch-tty"); }

  void keys(const std::string& keys) const {
    (void)!std::system((tmux() + " send-keys -t hutch-tty " + keys).c_str());
  }
  void type_line(const std::string& line) const { keys("-l " + quoted(line) + " \\; send-keys -t hutch-tty Enter"); }

  // Waits until the screen shows `text`; fails with the screen after `limit`.
  ::testing::AssertionResult shows(const std::string& text, std::chrono::seconds limit = 30s) const {
    const auto give_up = std::chrono::steady_clock::now() + limit;
    std::string now;
    while (std::chrono::steady_clock::now() < give_up) {
      now = screen();
      if (now.find(text) != std::string::npos) return ::testing::AssertionSuccess();
      std::this_thread::sleep_for(100ms);
    }
    return ::testing::AssertionFailure() << "'" << text << "' did not appear; the screen:\n" << now;
  }

  std::string read_state(const char* name) const { return read_file(dir() / name); }

  void check_interactive_shell(const std::vector<std::string>& run_args) {
    start(run_args);
    // The shell starts in the sandbox's /workspace (issue 14: the working directory falls back
    // to it); capture-pane drops the prompt's trailing blank.
    ASSERT_TRUE(shows("/workspace #")) << "no prompt";

    type_line("stty size");
    ASSERT_TRUE(shows("24 80"));
    ASSERT_EQ(std::system((tmux() + " resize-window -t hutch-tty -x 100 -y 30").c_str()), 0);
    type_line("clear; stty size");
    ASSERT_TRUE(shows("30 100")) << "the sandbox's terminal did not follow the resize";

    type_line("vi /tmp/vi-test");
    ASSERT_TRUE(shows("/tmp/vi-test")) << "vi did not draw its screen";
    ASSERT_TRUE(shows("~"));
    // busybox vi reads bytes that follow ESC within 50 ms as one escape sequence, so `:q!`
    // must come later than that or it is not seen as a command.
    keys("Escape");
    std::this_thread::sleep_for(300ms);
    type_line(":q!");
    // vi drops what is typed while it ends; the shell reads what comes after.
    std::this_thread::sleep_for(1s);
    type_line("clear; echo vi-$((20+1))");
    ASSERT_TRUE(shows("vi-21")) << "the shell did not come back after vi";

    // Ctrl-C reaches sleep in the sandbox, and the shell (and hutch) go on.
    type_line("clear; sleep 100");
    std::this_thread::sleep_for(500ms);
    const auto interrupted_at = std::chrono::steady_clock::now();
    keys("C-c");
    type_line("echo status-$?");
    ASSERT_TRUE(shows("status-130", 10s)) << "Ctrl-C did not interrupt sleep";
    EXPECT_LT(std::chrono::steady_clock::now() - interrupted_at, 10s);

    // Job control: the shell has a controlling terminal.
    type_line("clear; sleep 50 & jobs");
    ASSERT_TRUE(shows("Running")) << "no job control";
    type_line("kill %1");

    type_line("exit 3");
    const auto give_up = std::chrono::steady_clock::now() + 30s;
    while (!fs::exists(dir() / "exit-status") && std::chrono::steady_clock::now() < give_up)
      std::this_thread::sleep_for(100ms);
    ASSERT_TRUE(fs::exists(dir() / "exit-status")) << "hutch did not end after `exit 3`:\n" << screen();
    EXPECT_EQ(read_state("exit-status"), "3\n");
    EXPECT_EQ(read_state("stty-after"), read_state("stty-before")) << "hutch left the terminal changed";
  }

  bool started_ = false;
};

TEST_F(TerminalCliTest, InteractiveShellOnSubcontainer) {
  HUTCH_NEED(user_namespaces_available() && fs::exists(kSubcontainerPlugin), "HUTCH_REQUIRE_NAMESPACES",
             "user+mount namespaces and the subcontainer plugin");
  const char* data = std::getenv("HUTCH_TEST_DATA");
  const fs::path image = fs::path(data != nullptr && *data != '\0' ? data : "/tmp/hutch-test-data") / "busybox-rootfs.tar";
  HUTCH_NEED(fs::exists(image), "HUTCH_REQUIRE_NAMESPACES", image.string() + " (made by .ci/build-test-images.sh)");
  ::chmod(dir().c_str(), 0711);
  check_interactive_shell({"--backend", kSubcontainerPlugin.string(), "run", "-it", "--image", image.string(), "sh"});
  // What TearDown prunes: nothing should be left, run removed its sandbox.
  EXPECT_TRUE(ids_listed_by(hutch_on(kSubcontainerPlugin, {"--json", "ls"})).empty());
}

TEST_F(TerminalCliTest, InteractiveShellOnDocker) {
  const char* docker_host = std::getenv("DOCKER_HOST");
  const bool daemon = (docker_host != nullptr && *docker_host != '\0') || fs::exists("/var/run/docker.sock");
  HUTCH_NEED(daemon && fs::exists(kDockerPlugin), "HUTCH_REQUIRE_DOCKER", "a docker daemon and the docker plugin");
  const char* image = std::getenv("HUTCH_DOCKER_TEST_IMAGE");
  check_interactive_shell({"--backend", kDockerPlugin.string(), "run", "-it", "--image",
                           image != nullptr && *image != '\0' ? image : "hutch-test-busybox:latest", "sh"});
}

TEST_F(TerminalCliTest, TtyOnABackendWithoutTerminalsIsNamed) {
  expect_hutch_error(hutch({"run", "-t", "echo", "hi"}), {"fake", "-t"});
}

}  // namespace
}  // namespace hutch::test
