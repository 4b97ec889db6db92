#include "handle.hpp"

#include "agent/exec_process.hpp"
#include "agent/main_command_files.hpp"
#include "fork_factory.hpp"
#include "leader_files.hpp"
#include "lifecycle.hpp"
#include "sandbox_fs/client.hpp"

#include <hutch/error.hpp>
#include <hutch/env_changes.hpp>
#include <hutch/spec.hpp>
#include <hutch/workspace.hpp>

#include <fcntl.h>
#include <sys/stat.h>

#include <cerrno>
#include <map>
#include <thread>

namespace hutch::subcontainer {
namespace {

// Handle::set_env's changes, kept next to the record (not in it: other fields of the record
// change too, and a read-modify-write of the whole record could undo them).
std::filesystem::path env_file(const SandboxPaths& paths) { return paths.dir / "env.json"; }

agent::wire::ExecMessage exec_message(const SandboxRecord& record, const EnvChanges& env_changes,
                                      const ExecRequest& request) {
  // Image env, then the sandbox's, then the request's: later ones win.
  std::map<std::string, std::string> env;
  for (const auto& entry : record.image_config.env) {
    auto equals = entry.find('=');
    if (equals != std::string::npos) env[entry.substr(0, equals)] = entry.substr(equals + 1);
  }
  for (const auto& [key, value] : record.spec.env) env[key] = value;
  env = apply_env_changes(std::move(env), env_changes);
  for (const auto& [key, value] : request.env) env[key] = value;
  agent::wire::ExecMessage message;
  message.argv = request.argv;
  for (const auto& [key, value] : env) message.env.push_back(key + "=" + value);
  message.cwd = working_directory(request.cwd, record.spec, record.image_config.workdir);
  message.user = !request.user.empty() ? request.user : !record.spec.user.empty() ? record.spec.user : record.image_config.user;
  return message;
}

}  // namespace

Labels sandbox_labels(const SandboxRecord& record) {
  Labels labels = record.spec.labels;
  labels[kLabelManaged] = "true";
  labels[kLabelId] = record.id;
  labels[kLabelOwner] = record.owner;
  return labels;
}

SandboxInfo sandbox_info(const Runtime& runtime, const SandboxRecord& record) {
  SandboxInfo info;
  info.id = record.id;
  info.backend = runtime.config.name;
  info.image = record.spec.image;
  info.labels = sandbox_labels(record);
  info.created = std::chrono::system_clock::time_point(std::chrono::milliseconds(record.created_ms));
  info.spec = record.spec;
  info.spec.env = apply_env_changes(std::move(info.spec.env),
                                    read_env_changes(env_file(sandbox_paths(runtime.config.sandboxes_dir, record.id))));
  bool alive = leader_alive(record);
  info.main_command = agent::read_main_command(sandbox_paths(runtime.config.sandboxes_dir, record.id).dir, alive);
  if (!alive) {
    info.state = record.leader_pid == 0 ? SandboxState::creating : SandboxState::stopped;
  } else {
    info.state = SandboxState::running;
    if (record.cgroup_version != 0) {
      SandboxCgroup cgroup(record.cgroup_version, record.cgroup_dirs, record.id);
      if (cgroup.can_freeze() && cgroup.frozen()) info.state = SandboxState::paused;
    }
  }
  return info;
}

SubcontainerHandle::SubcontainerHandle(std::shared_ptr<Runtime> runtime, SandboxRecord record)
    : runtime_(std::move(runtime)), record_(std::move(record)) {}

SubcontainerHandle::~SubcontainerHandle() = default;

SandboxPaths SubcontainerHandle::paths() const { return sandbox_paths(runtime_->config.sandboxes_dir, record_.id); }

void SubcontainerHandle::require_running() const {
  if (destroyed_) throw Error(Errc::state, "sandbox " + record_.id + " was destroyed");
  if (!leader_alive(record_))
    throw Error(Errc::state, "sandbox " + record_.id + " is not running (its leader process is gone); remove it with `hutch rm " +
                                 record_.id + "`");
}

std::optional<SandboxCgroup> SubcontainerHandle::cgroup() const {
  if (record_.cgroup_version == 0) return std::nullopt;
  return SandboxCgroup(record_.cgroup_version, record_.cgroup_dirs, record_.id);
}

SandboxInfo SubcontainerHandle::info() {
  if (destroyed_) throw Error(Errc::state, "sandbox " + record_.id + " was destroyed");
  return sandbox_info(*runtime_, record_);
}

void SubcontainerHandle::prepare_command() {
  require_running();
  // frozen() is false where there is no freezer: one lookup, not two, before each command.
  if (auto group = cgroup(); group && group->frozen())
    throw Error(Errc::state, "sandbox " + record_.id + " is paused; unpause it first");
  // The record's mtime is the sandbox's last activity, for idle_timeout.
  ::utimensat(AT_FDCWD, paths().record.c_str(), nullptr, 0);
}

SandboxSpec SubcontainerHandle::spec() const {
  SandboxSpec spec = record_.spec;
  spec.env = apply_env_changes(std::move(spec.env), read_env_changes(env_file(paths())));
  return spec;
}

void SubcontainerHandle::set_env(const Env& set, const std::vector<std::string>& unset) {
  validate_env_change(set, unset);
  require_running();
  update_env_changes(env_file(paths()), set, unset);
}

std::unique_ptr<Process> SubcontainerHandle::spawn(const ExecRequest& request) {
  validate(request);
  if (request.tty) throw_unsupported(backend_name(), "tty");
  prepare_command();
  return agent::ExecProcess::start(paths().socket, record_.id, exec_message(record_, read_env_changes(env_file(paths())), request), request);
}

MainCommandInfo SubcontainerHandle::launch(const ExecRequest& request) {
  validate_launch(request);
  if (request.tty) throw_unsupported(backend_name(), "tty");
  prepare_command();
  agent::wire::ExecMessage message = exec_message(record_, read_env_changes(env_file(paths())), request);
  message.launch = true;
  message.stop_grace_ms = static_cast<std::uint32_t>(runtime_->config.stop_grace.count());
  message.log_limit = runtime_->config.log_limit;
  auto paths = this->paths();
  return agent::launch_main_command(paths.socket, record_.id, paths.dir, message);
}

void SubcontainerHandle::logs(const std::function<bool(std::string_view)>& sink, bool follow) {
  if (destroyed_) throw Error(Errc::state, "sandbox " + record_.id + " was destroyed");
  auto dir = paths().dir;
  agent::stream_main_log(dir, record_.id, sink, follow, [&] {
    auto main = agent::read_main_command(dir, leader_alive(record_));
    return main && main->state == MainCommandState::running;
  });
}

ExecResult SubcontainerHandle::exec(const ExecRequest& request) {
  // A buffered exec never waits for input: without stdin data the command reads EOF.
  if (request.stdin_data) return spawn(request)->wait();
  ExecRequest with_empty_stdin = request;
  with_empty_stdin.stdin_data = std::string();
  return spawn(with_empty_stdin)->wait();
}

Fs& SubcontainerHandle::fs() {
  std::lock_guard lock(mutex_);
  require_running();
  // The helper that serves it starts with its first call.
  if (!fs_) {
    fs_ = std::make_unique<SandboxFs>(runtime_->config.helper, record_.id, [record = record_] { return open_leader_files(record); });
    fs_->set_max_file_bytes(record_.spec.max_file_bytes);
  }
  return *fs_;
}

void SubcontainerHandle::with_frozen(const std::function<void()>& body) {
  auto group = cgroup();
  bool freeze = group && group->can_freeze() && !group->frozen();
  if (freeze) group->freeze();
  try {
    body();
  } catch (...) {
    if (freeze) group->thaw();
    throw;
  }
  if (freeze) group->thaw();
}

SnapshotInfo SubcontainerHandle::snapshot(const std::string& label) {
  require_running();
  SnapshotInfo info;
  with_frozen([&] {
    info.id = runtime_->images->commit_layer(paths().upper, record_.image_ref, label, record_.id, record_.root_uid,
                                             record_.root_gid);
  });
  info.label = label;
  info.source_sandbox = record_.id;
  info.created = std::chrono::system_clock::now();
  return info;
}

void SubcontainerHandle::pause() {
  require_running();
  auto group = cgroup();
  if (!group || !group->can_freeze())
    throw Error(Errc::unsupported, "sandbox " + record_.id + ": pause needs a freezer cgroup, which this sandbox does not have "
                                       "(rootless on cgroup v1)");
  group->freeze();
}

void SubcontainerHandle::unpause() {
  require_running();
  auto group = cgroup();
  if (!group || !group->can_freeze())
    throw Error(Errc::unsupported, "sandbox " + record_.id + ": unpause needs a freezer cgroup, which this sandbox does not have");
  group->thaw();
}

Stats SubcontainerHandle::stats() {
  require_running();
  auto group = cgroup();
  if (!group)
    throw Error(Errc::unsupported, "sandbox " + record_.id + ": stats need a cgroup, which this sandbox does not have "
                                       "(rootless on cgroup v1)");
  constexpr auto kWindow = std::chrono::milliseconds(100);
  Stats first = group->stats();
  std::this_thread::sleep_for(kWindow);
  Stats stats = group->stats();
  stats.cpu_percent = 100.0 * static_cast<double>(stats.cpu_usage_ns - std::min(stats.cpu_usage_ns, first.cpu_usage_ns)) /
                      static_cast<double>(std::chrono::nanoseconds(kWindow).count());
  return stats;
}

void SubcontainerHandle::destroy() {
  std::lock_guard lock(mutex_);
  if (destroyed_) return;
  fs_.reset();
  destroy_sandbox(*runtime_, record_.id);
  destroyed_ = true;
}

std::shared_ptr<ForkFactory> SubcontainerHandle::fork_factory() {
  return std::make_shared<SubcontainerForkFactory>(runtime_);
}

}  // namespace hutch::subcontainer
