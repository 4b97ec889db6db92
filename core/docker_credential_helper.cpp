// The docker credential helper protocol; see docker_credential_helper.hpp.
#include "docker_credential_helper.hpp"

#include "agent/unique_fd.hpp"

#include <hutch/error.hpp>

#include <boost/json.hpp>

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <thread>
#include <utility>
#include <vector>

extern char** environ;

namespace hutch::detail {

namespace {

namespace json = boost::json;
using agent::UniqueFd;
using Clock = std::chrono::steady_clock;

// What docker-credential-helpers' helpers print (and exit non-zero) for a server they hold no
// login for; the docker CLI compares the trimmed output with it.
constexpr std::string_view kNotFound = "credentials not found in native keychain";
// Far more than {"ServerURL","Username","Secret"} with a long token ever needs.
constexpr std::size_t kMaxOutput = 64 * 1024;

// A started helper: killed and reaped if it is still running when this goes.
class HelperProcess {
 public:
  explicit HelperProcess(pid_t pid) : pid_(pid) {}
  HelperProcess(const HelperProcess&) = delete;
  HelperProcess& operator=(const HelperProcess&) = delete;
  ~HelperProcess() {
    if (pid_ < 0) return;
    ::kill(pid_, SIGKILL);
    int status = 0;
    while (::waitpid(pid_, &status, 0) < 0 && errno == EINTR) {
    }
  }

  // Its wait status once it exits before `deadline`; nullopt when it is still running then.
  std::optional<int> wait_until(Clock::time_point deadline) {
    for (auto pause = std::chrono::milliseconds(1);; pause = std::min(pause * 2, std::chrono::milliseconds(50))) {
      int status = 0;
      const pid_t done = ::waitpid(pid_, &status, WNOHANG);
      if (done == pid_) {
        pid_ = -1;
        return status;
      }
      if (done < 0 && errno != EINTR) throw_system_error("waitpid on a docker credential helper", errno);
      if (Clock::now() >= deadline) return std::nullopt;
      std::this_thread::sleep_for(pause);
    }
  }

 private:
  pid_t pid_;
};

struct Pipe {
  UniqueFd read, write;
};

Pipe make_pipe() {
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0) throw_system_error("pipe2 for a docker credential helper", errno);
  return {UniqueFd(fds[0]), UniqueFd(fds[1])};
}

// posix_spawn's file actions and attributes, released however the spawn ends.
struct SpawnSetup {
  posix_spawn_file_actions_t actions{};
  posix_spawnattr_t attributes{};
  SpawnSetup() {
    posix_spawn_file_actions_init(&actions);
    posix_spawnattr_init(&attributes);
  }
  ~SpawnSetup() {
    posix_spawn_file_actions_destroy(&actions);
    posix_spawnattr_destroy(&attributes);
  }
  SpawnSetup(const SpawnSetup&) = delete;
  SpawnSetup& operator=(const SpawnSetup&) = delete;
};

std::string string_field(const json::object& object, std::string_view key) {
  const json::value* value = object.if_contains(key);
  return value != nullptr && value->is_string() ? std::string(value->as_string()) : std::string();
}

std::string trimmed(std::string_view text) {
  const auto first = text.find_first_not_of(" \t\r\n");
  if (first == std::string_view::npos) return {};
  return std::string(text.substr(first, text.find_last_not_of(" \t\r\n") - first + 1));
}

}  // namespace

bool is_credential_helper_suffix(const std::string& suffix) {
  return !suffix.empty() && suffix != "." && suffix != ".." &&
         std::all_of(suffix.begin(), suffix.end(), [](char c) {
           return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' || c == '_' ||
                  c == '-';
         });
}

std::optional<RegistryCredentials> run_docker_credential_helper(const std::string& suffix, const std::string& server,
                                                                const std::string& registry,
                                                                std::chrono::milliseconds timeout) {
  const std::string program = "docker-credential-" + suffix;
  const std::string what = "the docker credential helper " + program + " (asked for registry " + registry + ")";
  if (!is_credential_helper_suffix(suffix))
    throw Error(Errc::config, "docker credential helper name '" + suffix + "' is not a plain name ([A-Za-z0-9._-])");
  // The request goes into the pipe before the helper starts: a few bytes always fit, and a
  // helper that exits without reading them cannot hurt us with SIGPIPE.
  Pipe input = make_pipe();
  if (::write(input.write.get(), server.data(), server.size()) != static_cast<ssize_t>(server.size()))
    throw_system_error("writing the request of " + what, errno);
  input.write.reset();
  Pipe output = make_pipe();

  SpawnSetup setup;
  posix_spawn_file_actions_adddup2(&setup.actions, input.read.get(), STDIN_FILENO);
  posix_spawn_file_actions_adddup2(&setup.actions, output.write.get(), STDOUT_FILENO);
  posix_spawn_file_actions_addopen(&setup.actions, STDERR_FILENO, "/dev/null", O_WRONLY, 0);
  sigset_t no_signals, default_signals;
  sigemptyset(&no_signals);
  sigfillset(&default_signals);
  posix_spawnattr_setsigmask(&setup.attributes, &no_signals);
  posix_spawnattr_setsigdefault(&setup.attributes, &default_signals);
  posix_spawnattr_setflags(&setup.attributes, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
  std::string get = "get";
  std::vector<char*> argv = {const_cast<char*>(program.c_str()), get.data(), nullptr};
  pid_t pid = -1;
  // posix_spawnp: the name is looked up on PATH, as the docker CLI does; no shell is involved.
  if (const int rc = ::posix_spawnp(&pid, program.c_str(), &setup.actions, &setup.attributes, argv.data(), environ);
      rc != 0)
    throw Error(Errc::config, "cannot run " + what + ": " + std::strerror(rc) +
                                  (rc == ENOENT ? " (it is not on PATH; install it or remove it from the docker config)"
                                                : ""));
  HelperProcess helper(pid);
  input.read.reset();
  output.write.reset();

  const Clock::time_point deadline = Clock::now() + timeout;
  const auto too_slow = [&] {
    return Error(Errc::config, what + " did not answer within " + std::to_string(timeout.count()) + " ms; it was killed");
  };
  std::string answer;
  char buffer[4096];
  for (;;) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
    if (left.count() <= 0) throw too_slow();
    pollfd ready{output.read.get(), POLLIN, 0};
    const int polled = ::poll(&ready, 1, static_cast<int>(std::min<std::int64_t>(left.count(), 1'000'000)));
    if (polled < 0) {
      if (errno == EINTR) continue;
      throw_system_error("poll on " + what, errno);
    }
    if (polled == 0) continue;
    const ssize_t got = ::read(output.read.get(), buffer, sizeof buffer);
    if (got < 0) {
      if (errno == EINTR) continue;
      throw_system_error("reading the answer of " + what, errno);
    }
    if (got == 0) break;
    answer.append(buffer, static_cast<std::size_t>(got));
    if (answer.size() > kMaxOutput)
      throw Error(Errc::config, what + " printed more than " + std::to_string(kMaxOutput) + " bytes; it was killed");
  }
  const std::optional<int> status = helper.wait_until(deadline);
  if (!status) throw too_slow();

  if (!WIFEXITED(*status) || WEXITSTATUS(*status) != 0) {
    if (trimmed(answer) == kNotFound) return std::nullopt;
    // Its message is not repeated here: it could hold what the helper guards.
    const std::string how = WIFEXITED(*status) ? "exited with status " + std::to_string(WEXITSTATUS(*status))
                                               : "was killed by signal " + std::to_string(WTERMSIG(*status));
    throw Error(Errc::config, what + " " + how + "; run `printf %s " + server + " | " + program +
                                  " get` to see its message, or fix the helper named in the docker config");
  }
  boost::system::error_code ec;
  const json::value document = json::parse(answer, ec);
  if (ec || !document.is_object())
    throw Error(Errc::config, what + " answered something other than a JSON object of ServerURL, Username and Secret");
  const std::string username = string_field(document.as_object(), "Username");
  const std::string secret = string_field(document.as_object(), "Secret");
  if (username.empty() && secret.empty()) return std::nullopt;
  RegistryCredentials credentials;
  if (username == "<token>") {
    credentials.identity_token = secret;
  } else {
    credentials.username = username;
    credentials.password = secret;
  }
  return credentials;
}

}  // namespace hutch::detail
