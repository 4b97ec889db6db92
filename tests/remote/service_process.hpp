// A real `hutch serve` (fake backend) for the remote backend's tests: its own directory with a
// configuration ([serve] lines given), a tokens file and its log; it listens on a Unix socket
// and, when asked, on tcp://127.0.0.1:0 (the port it got is read from its log). Stopped with
// SIGTERM at the end (it must exit 0) and its directory removed.
#pragma once

#include "temp_dir.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <csignal>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <optional>
#include <regex>
#include <sstream>
#include <string>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>
#include <vector>

namespace hutch::test {

class ServiceProcess {
 public:
  static constexpr const char* kToken = "remote-test-token-0123456789";

  // Starts the service with `serve_lines` in [serve] and `args` after `serve`; with `tcp`, also
  // on tcp://127.0.0.1:0. Throws when it does not come up (its log in the message).
  explicit ServiceProcess(const std::string& serve_lines, bool tcp = false, std::vector<std::string> args = {})
      : dir_("hutch-remote-service-") {
    std::vector<std::string> argv = prepare(dir_, serve_lines);
    argv.insert(argv.end(), {"--listen", "unix://" + socket().string()});
    if (tcp) argv.insert(argv.end(), {"--listen", "tcp://127.0.0.1:0"});
    argv.insert(argv.end(), args.begin(), args.end());
    listeners_ = static_cast<std::size_t>(std::count(argv.begin(), argv.end(), "--listen"));
    pid_ = spawn(argv);
    for (int i = 0; i < 400 && !up(tcp); ++i) {
      int status = 0;
      if (::waitpid(pid_, &status, WNOHANG) == pid_) {
        pid_ = -1;
        throw std::runtime_error("hutch serve exited at start: " + log());
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(25));
    }
    if (!up(tcp)) throw std::runtime_error("hutch serve did not come up: " + log());
  }

  ~ServiceProcess() {
    if (pid_ <= 0) return;
    ::kill(pid_, SIGTERM);
    int status = 0;
    ::waitpid(pid_, &status, 0);
    EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << "hutch serve ended with status " << status << ": " << log();
  }

  // Runs `hutch serve` with `args` to its end (it must fail at start): its exit status and log.
  static std::pair<int, std::string> run_failing(const std::string& serve_lines, std::vector<std::string> args) {
    TempDir dir("hutch-remote-service-");
    std::vector<std::string> argv = prepare(dir, serve_lines);
    argv.insert(argv.end(), args.begin(), args.end());
    const pid_t pid = spawn(argv, dir / "serve.log");
    int status = 0;
    for (int i = 0; i < 400 && ::waitpid(pid, &status, WNOHANG) == 0; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(25));
    if (::waitpid(pid, &status, WNOHANG) == 0) {  // still serving: not what the caller expects
      ::kill(pid, SIGKILL);
      ::waitpid(pid, &status, 0);
      return {-1, read_file(dir / "serve.log")};
    }
    return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, read_file(dir / "serve.log")};
  }

  std::filesystem::path socket() const { return dir_ / "hutch.sock"; }
  std::uint16_t port() const { return port_; }
  const std::filesystem::path& dir() const { return dir_.path(); }
  std::string log() const { return read_file(dir_ / "serve.log"); }

 private:
  // Writes the configuration and the tokens file into `dir`; the command line up to `serve
  // --tokens-file FILE`.
  static std::vector<std::string> prepare(const TempDir& dir, const std::string& serve_lines) {
    std::ofstream(dir / "service.toml") << "[defaults]\nbackend = \"fake\"\nstate_dir = \"" << (dir / "state").string()
                                         << "\"\n[plugins]\npaths = [\"" << HUTCH_TEST_PLUGIN_DIR << "\"]\n[serve]\n"
                                         << serve_lines << "\n";
    std::ofstream(dir / "tokens") << "test " << kToken << "\n";
    std::filesystem::permissions(dir / "tokens", std::filesystem::perms::owner_read | std::filesystem::perms::owner_write);
    return {std::string(HUTCH_BUILD_DIR) + "/bin/hutch", "--config", (dir / "service.toml").string(), "serve",
            "--tokens-file", (dir / "tokens").string()};
  }

  static std::string read_file(const std::filesystem::path& path) {
    std::ifstream in(path);
    std::stringstream text;
    text << in.rdbuf();
    return text.str();
  }

  pid_t spawn(const std::vector<std::string>& argv) { return spawn(argv, dir_ / "serve.log"); }
  static pid_t spawn(const std::vector<std::string>& argv, const std::filesystem::path& log) {
    const pid_t pid = ::fork();
    if (pid == 0) {
      std::freopen(log.c_str(), "w", stderr);
      std::vector<char*> raw;
      for (const std::string& arg : argv) raw.push_back(const_cast<char*>(arg.c_str()));
      raw.push_back(nullptr);
      ::execv(raw[0], raw.data());
      ::_exit(127);
    }
    return pid;
  }

  // Listening on every address given (one "listening on" line each in the log); with `tcp`,
  // the port of tcp://127.0.0.1:0 read from its line.
  bool up(bool tcp) {
    const std::string text = log();
    std::size_t lines = 0;
    for (auto at = text.find("listening on"); at != std::string::npos; at = text.find("listening on", at + 1)) ++lines;
    if (lines < listeners_) return false;
    if (!tcp) return true;
    std::smatch match;
    if (!std::regex_search(text, match, std::regex("listening on tcp://127\\.0\\.0\\.1:([0-9]+)"))) return false;
    port_ = static_cast<std::uint16_t>(std::stoi(match[1]));
    return true;
  }

  TempDir dir_;
  pid_t pid_ = -1;
  std::size_t listeners_ = 0;
  std::uint16_t port_ = 0;
};

}  // namespace hutch::test
