#include "sandbox_dir.hpp"

#include "agent/host_file.hpp"

#include <hutch/config.hpp>
#include <hutch/error.hpp>

#include <spdlog/spdlog.h>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <fstream>

namespace hutch::docker {
namespace {

constexpr const char* kActivityMarker = "activity";
constexpr const char* kStoppedMarker = "stopped";
constexpr const char* kLifetimeFile = "lifetime";
constexpr const char* kExpiryFile = "expired";  // in run/, the agent's (kAgentExpiryName)

}  // namespace

std::filesystem::path docker_state_dir(const DockerConfig& config) {
  return std::filesystem::path(config.state_dir.empty() ? default_state_dir() : config.state_dir) / "docker";
}

std::filesystem::path make_sandbox_dir(const std::filesystem::path& state_dir, const std::string& id, bool open_to_agent) {
  std::error_code ec;
  std::filesystem::create_directories(state_dir, ec);
  if (ec) throw_system_error("create the docker state directory " + state_dir.string(), ec.value());
  if (::chmod(state_dir.c_str(), 0700) != 0) throw_system_error("make " + state_dir.string() + " private (0700)", errno);
  std::filesystem::path dir = state_dir / id;
  if (::mkdir(dir.c_str(), 0700) != 0 && errno != EEXIST) throw_system_error("create " + dir.string(), errno);
  if (open_to_agent) {
    std::filesystem::path run = agent_run_dir(dir);
    if (::mkdir(run.c_str(), 0700) != 0 && errno != EEXIST) throw_system_error("create " + run.string(), errno);
    if (::chmod(run.c_str(), 0777) != 0) throw_system_error("open " + run.string() + " to the sandbox's agent", errno);
  }
  record_activity(dir);
  return dir;
}

std::filesystem::path agent_run_dir(const std::filesystem::path& sandbox_dir) { return sandbox_dir / "run"; }

std::optional<std::filesystem::path> host_only_dir(const std::string& id, const std::filesystem::path& agent_dir) {
  if (agent_dir.filename() == "run" && agent_dir.parent_path().filename() == id) return agent_dir.parent_path();
  return std::nullopt;
}

void remove_sandbox_dir(Context& context, const std::string& id, const std::filesystem::path& dir) {
  if (dir.filename() != id || dir.parent_path().filename() != "docker" || !dir.is_absolute()) {
    context.logger->warn("docker: sandbox {}: not removing '{}': not <state>/docker/{}", id, dir.string(), id);
    return;
  }
  std::error_code ec;
  std::filesystem::remove_all(dir, ec);
  if (ec) context.logger->warn("docker: could not remove {}: {}", dir.string(), ec.message());
}

void record_activity(const std::filesystem::path& dir) {
  const auto marker = dir / kActivityMarker;
  if (::utimensat(AT_FDCWD, marker.c_str(), nullptr, 0) == 0 || errno != ENOENT) return;
  int fd = ::open(marker.c_str(), O_WRONLY | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
  if (fd >= 0) ::close(fd);
}

void mark_stopped(const std::filesystem::path& dir, const std::string& id, bool stopped) {
  const auto marker = dir / kStoppedMarker;
  if (!stopped) {
    if (::unlink(marker.c_str()) != 0 && errno != ENOENT) throw_system_error("sandbox " + id + ": remove " + marker.string(), errno);
    return;
  }
  int fd = ::open(marker.c_str(), O_WRONLY | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
  if (fd < 0) throw_system_error("sandbox " + id + ": create " + marker.string(), errno);
  ::close(fd);
}

std::optional<agent::LifetimeSettings> read_lifetime(const std::filesystem::path& dir) {
  std::ifstream in(dir / kLifetimeFile);
  agent::LifetimeSettings lifetime;
  if (!(in >> lifetime.ttl_deadline_ms >> lifetime.idle_timeout_ms)) return std::nullopt;
  return lifetime;
}

void write_lifetime(const std::filesystem::path& dir, const std::string& id, const agent::LifetimeSettings& lifetime) {
  agent::replace_host_file(dir / kLifetimeFile,
                           std::to_string(lifetime.ttl_deadline_ms) + " " + std::to_string(lifetime.idle_timeout_ms) + "\n",
                           id);
}

bool expiry_in_run_dir(const std::filesystem::path& run_dir) {
  // The run dir is the sandbox's to write in: only a regular file counts, never followed.
  struct stat st{};
  return ::lstat((run_dir / kExpiryFile).c_str(), &st) == 0 && S_ISREG(st.st_mode) && st.st_size > 0;
}

bool expired_by_agent(const std::filesystem::path& dir) { return expiry_in_run_dir(agent_run_dir(dir)); }

void clear_expiry(const std::filesystem::path& dir) { ::unlink((agent_run_dir(dir) / kExpiryFile).c_str()); }

bool stopped_on_purpose(const std::filesystem::path& dir) {
  struct stat st{};
  return ::lstat((dir / kStoppedMarker).c_str(), &st) == 0;
}

std::optional<std::chrono::system_clock::time_point> last_activity(const std::filesystem::path& dir) {
  struct stat st{};
  if (::stat((dir / kActivityMarker).c_str(), &st) != 0) return std::nullopt;
  return std::chrono::system_clock::time_point(std::chrono::seconds(st.st_mtim.tv_sec) +
                                               std::chrono::nanoseconds(st.st_mtim.tv_nsec));
}

}  // namespace hutch::docker
