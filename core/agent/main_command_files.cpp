#include "main_command_files.hpp"

#include "control_client.hpp"
#include "unique_fd.hpp"

#include <hutch/error.hpp>

#include <boost/json.hpp>

#include <fcntl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <sstream>
#include <thread>

namespace hutch::agent {
namespace fs = std::filesystem;
namespace {

constexpr const char* kLogName = "main.log";
constexpr const char* kRotatedLogName = "main.log.1";
constexpr const char* kStatusName = "main.status";
constexpr auto kFollowInterval = std::chrono::milliseconds(100);

UniqueFd open_file(const fs::path& path, int flags, const std::string& id) {
  UniqueFd fd(::open(path.c_str(), flags | O_CLOEXEC, 0600));
  if (!fd) throw_system_error("sandbox " + id + ": open " + path.string(), errno);
  return fd;
}

std::chrono::system_clock::time_point from_unix_ms(long long ms) {
  return std::chrono::system_clock::time_point(std::chrono::milliseconds(ms));
}

// The state the lines of a status file describe; nullopt when there is no command line.
std::optional<MainCommandInfo> parse_status(const std::string& text) {
  std::optional<MainCommandInfo> info;
  std::size_t start = 0, end;
  // Only complete lines: the last one may be in the middle of being written.
  while ((end = text.find('\n', start)) != std::string::npos) {
    std::string line = text.substr(start, end - start);
    start = end + 1;
    if (line.size() < 2 || line[1] != ' ') continue;
    std::istringstream fields(line.substr(2));
    if (line[0] == 'C') {
      info.emplace();
      boost::system::error_code error;
      auto argv = boost::json::parse(line.substr(2), error);
      if (!error && argv.is_array())
        for (const auto& arg : argv.as_array())
          if (arg.is_string()) info->argv.emplace_back(arg.as_string());
    } else if (line[0] == 'R' && info) {
      long long started = 0;
      fields >> info->pid >> started;
      info->started = from_unix_ms(started);
    } else if (line[0] == 'X' && info) {
      int status = 0;
      long long ended = 0;
      fields >> status >> ended;
      info->ended = from_unix_ms(ended);
      if (WIFSIGNALED(status)) {
        info->state = MainCommandState::killed;
        info->signal = WTERMSIG(status);
      } else {
        info->state = MainCommandState::exited;
        info->exit_code = WEXITSTATUS(status);
      }
    }
  }
  return info;
}

std::string read_whole(const fs::path& path) {
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  std::string text;
  if (!fd) return text;
  char buffer[4096];
  ssize_t n;
  while ((n = ::read(fd.get(), buffer, sizeof buffer)) > 0) text.append(buffer, static_cast<std::size_t>(n));
  return text;
}

// One reply line from the agent; empty when it closed the connection without one.
// The agent's one-line answer; empty when it closed the connection. Errc::timeout naming the
// sandbox when none comes within `limit`: sandboxed processes can stop the agent's shepherds.
std::string read_reply(int fd, const std::string& sandbox_id, Duration limit) {
  timeval until{static_cast<time_t>(limit.count() / 1000), static_cast<suseconds_t>(limit.count() % 1000 * 1000)};
  if (::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &until, sizeof until) != 0)
    throw_system_error("sandbox " + sandbox_id + ": set the launch's reply deadline", errno);
  std::string line;
  char c;
  while (true) {
    ssize_t n = ::recv(fd, &c, 1, 0);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) throw start_timeout_error(sandbox_id, limit);
    if (n <= 0) return {};
    if (c == '\n') return line;
    line.push_back(c);
  }
}

// Removes a file unless told to keep it.
class RemoveUnlessKept {
 public:
  explicit RemoveUnlessKept(std::string path) : path_(std::move(path)) {}
  ~RemoveUnlessKept() {
    if (!kept_) ::unlink(path_.c_str());
  }
  void keep() { kept_ = true; }

 private:
  std::string path_;
  bool kept_ = false;
};

// What tells a rotation of the log apart: log.1 is written only when the log rotates.
struct FileVersion {
  off_t size = -1;
  timespec modified{};
  bool operator==(const FileVersion& other) const {
    return size == other.size && modified.tv_sec == other.modified.tv_sec && modified.tv_nsec == other.modified.tv_nsec;
  }
};

FileVersion version_of(const fs::path& path) {
  struct stat info {};
  if (::stat(path.c_str(), &info) != 0) return {};
  return {info.st_size, info.st_mtim};
}

// Sends `path` from `offset` on to `sink`; false once the sink wants no more.
bool send_from(const fs::path& path, std::uint64_t& offset, const std::function<bool(std::string_view)>& sink) {
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd) return true;
  char buffer[64 * 1024];
  ssize_t n;
  while ((n = ::pread(fd.get(), buffer, sizeof buffer, static_cast<off_t>(offset))) > 0) {
    offset += static_cast<std::uint64_t>(n);
    if (!sink(std::string_view(buffer, static_cast<std::size_t>(n)))) return false;
  }
  return true;
}

}  // namespace

MainCommandInfo launch_main_command(const fs::path& socket, const std::string& sandbox_id, const fs::path& dir,
                                    const wire::ExecMessage& message, pid_t agent_pid) {
  std::string status_path = (dir / (std::string(kStatusName) + ".XXXXXX")).string();
  UniqueFd status(::mkostemp(status_path.data(), O_CLOEXEC | O_APPEND));
  if (!status) throw_system_error("sandbox " + sandbox_id + ": create " + status_path, errno);
  RemoveUnlessKept remove_status(status_path);
  boost::json::array argv;
  for (const auto& arg : message.argv) argv.emplace_back(arg);
  std::string command_line = "C " + boost::json::serialize(argv) + "\n";
  if (::write(status.get(), command_line.data(), command_line.size()) != static_cast<ssize_t>(command_line.size()))
    throw_system_error("sandbox " + sandbox_id + ": write " + status_path, errno);

  UniqueFd no_input = open_file("/dev/null", O_RDONLY, sandbox_id);
  UniqueFd log = open_file(dir / kLogName, O_RDWR | O_APPEND | O_CREAT, sandbox_id);
  UniqueFd rotated = open_file(dir / kRotatedLogName, O_RDWR | O_CREAT, sandbox_id);
  const int fds[wire::kLaunchFds] = {no_input.get(), log.get(), rotated.get(), status.get()};
  UniqueFd connection = send_request(socket, sandbox_id, message, fds, agent_pid);

  // The main command it replaces gets its grace period first.
  std::string reply = read_reply(connection.get(), sandbox_id,
                                 kDefaultStartTimeout + std::chrono::milliseconds(message.stop_grace_ms));
  if (reply.rfind("S ", 0) == 0) {
    if (::rename(status_path.c_str(), (dir / kStatusName).c_str()) != 0)
      throw_system_error("sandbox " + sandbox_id + ": rename " + status_path, errno);
    remove_status.keep();
    if (auto info = read_main_command(dir, true)) return *info;
    throw Error(Errc::io, "sandbox " + sandbox_id + ": the main command started but its status is unreadable");
  }
  if (reply.rfind("E ", 0) == 0) {
    std::string why = reply.substr(2);
    if (why.find("replaced by a later launch") != std::string::npos)
      throw Error(Errc::state, "sandbox " + sandbox_id + ": the main command was " + why);
    throw Error(Errc::backend, "sandbox " + sandbox_id + ": the main command could not be started: " + why);
  }
  throw Error(Errc::state, "sandbox " + sandbox_id +
                               ": the sandbox's leader went away before the main command started (was the sandbox destroyed?)");
}

std::optional<MainCommandInfo> read_main_command(const fs::path& dir, bool sandbox_running) {
  auto info = parse_status(read_whole(dir / kStatusName));
  if (info && info->state == MainCommandState::running && !sandbox_running) {
    info->state = MainCommandState::killed;
    info->signal = SIGKILL;
  }
  return info;
}

void stream_main_log(const fs::path& dir, const std::string& sandbox_id,
                     const std::function<bool(std::string_view)>& sink, bool follow,
                     const std::function<bool()>& running) {
  if (!fs::exists(dir / kStatusName))
    throw Error(Errc::not_found, "sandbox " + sandbox_id + " has no main command (start one with launch)");
  const fs::path log = dir / kLogName, rotated = dir / kRotatedLogName;
  FileVersion rotated_version = version_of(rotated);
  std::uint64_t rotated_offset = 0, log_offset = 0;
  if (!send_from(rotated, rotated_offset, sink)) return;
  while (true) {
    bool was_running = follow && running();
    if (FileVersion now = version_of(rotated); !(now == rotated_version)) {
      // The log rotated: what we had not read of it is now in log.1, at the same offset.
      rotated_version = now;
      rotated_offset = log_offset;
      log_offset = 0;
      if (!send_from(rotated, rotated_offset, sink)) return;
    }
    if (version_of(log).size < static_cast<off_t>(log_offset)) log_offset = 0;
    if (!send_from(log, log_offset, sink)) return;
    if (!was_running) return;
    std::this_thread::sleep_for(kFollowInterval);
  }
}

}  // namespace hutch::agent
