// The remote backend's kept connections against a real `hutch serve` (on the fake backend)
// whose header timeout closes them while they wait: the next call still succeeds.
#include "remote_backend.hpp"
#include "settings.hpp"

#include <hutch/handle.hpp>
#include <hutch/fs.hpp>

#include <gtest/gtest.h>

#include <chrono>
#include <csignal>
#include <filesystem>
#include <fstream>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>

namespace hutch::remote {
namespace {

namespace fs = std::filesystem;

// `hutch serve` on a Unix socket in a temporary directory, header_timeout = 1s; stopped
// with SIGTERM and its directory removed at the end.
class ShortTimeoutService {
 public:
  ShortTimeoutService() {
    char pattern[] = "/tmp/hutch-kept-connections-XXXXXX";
    if (!::mkdtemp(pattern)) throw std::runtime_error("mkdtemp");
    dir_ = pattern;
    socket_ = dir_ / "hutch.sock";
    std::ofstream(dir_ / "service.toml") << "[defaults]\nbackend = \"fake\"\nstate_dir = \"" << (dir_ / "state").string()
                                         << "\"\n[plugins]\npaths = [\"" << HUTCH_TEST_PLUGIN_DIR << "\"]\n"
                                         << "[serve]\nheader_timeout = \"1s\"\n";
    std::ofstream(dir_ / "tokens") << "test kept-connections-token\n";
    fs::permissions(dir_ / "tokens", fs::perms::owner_read | fs::perms::owner_write);
    const std::string hutch = std::string(HUTCH_BUILD_DIR) + "/bin/hutch";
    const std::string config = (dir_ / "service.toml").string(), listen = "unix://" + socket_.string(),
                      tokens = (dir_ / "tokens").string(), log = (dir_ / "serve.log").string();
    pid_ = ::fork();
    if (pid_ == 0) {
      std::freopen(log.c_str(), "w", stderr);
      ::execl(hutch.c_str(), hutch.c_str(), "--config", config.c_str(), "serve", "--listen", listen.c_str(),
              "--tokens-file", tokens.c_str(), static_cast<char*>(nullptr));
      ::_exit(127);
    }
    for (int i = 0; i < 200 && !fs::exists(socket_); ++i) std::this_thread::sleep_for(std::chrono::milliseconds(25));
    if (!fs::exists(socket_)) throw std::runtime_error("hutch serve did not listen on " + socket_.string());
  }
  ~ShortTimeoutService() {
    ::kill(pid_, SIGTERM);
    int status = 0;
    ::waitpid(pid_, &status, 0);
    EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << "hutch serve ended with status " << status;
    fs::remove_all(dir_);
  }
  Settings settings() const {
    Settings settings;
    settings.address = server::parse_listen_address("unix://" + socket_.string());
    settings.token = "kept-connections-token";
    return settings;
  }

 private:
  fs::path dir_, socket_;
  pid_t pid_ = -1;
};

TEST(KeptConnections, CallsSucceedAfterTheServiceClosedEveryKeptConnection) {
  ShortTimeoutService service;
  RemoteBackend backend("remote", service.settings());
  // Two kept connections: the create's, and the upload's (which always starts a new one).
  auto sandbox = backend.create(SandboxSpec{});
  sandbox->fs().write("/kept.txt", "kept");
  // Both outlive the service's header timeout and are closed by it.
  std::this_thread::sleep_for(std::chrono::milliseconds(1600));
  EXPECT_EQ(backend.list({}).size(), 1u);
  EXPECT_EQ(sandbox->fs().read("/kept.txt"), "kept");
  std::this_thread::sleep_for(std::chrono::milliseconds(1600));
  EXPECT_NO_THROW(backend.destroy(sandbox->id()));
  EXPECT_TRUE(backend.list({}).empty());
}

}  // namespace
}  // namespace hutch::remote
