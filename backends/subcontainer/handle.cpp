#include "handle.hpp"

#include "agent/exec_process.hpp"
#include "agent/launch_request.hpp"
#include "agent/lifetime_client.hpp"
#include "agent/main_command_files.hpp"
#include "fork_factory.hpp"
#include "leader_files.hpp"
#include "lifecycle.hpp"
#include "network/port_forwarder_process.hpp"
#include "sandbox_fs/client.hpp"

#include <hutch/error.hpp>
#include <hutch/env_changes.hpp>
#include <hutch/image_defaults.hpp>
#include <hutch/spec.hpp>
#include <hutch/workspace.hpp>

#include <fcntl.h>
#include <sys/stat.h>

#include <cerrno>
#include <thread>

namespace hutch::subcontainer {
namespace {

// Handle::set_env's changes, kept next to the record (not in it: other fields of the record
// change too, and a read-modify-write of the whole record could undo them).
std::filesystem::path env_file(const SandboxPaths& paths) { return paths.dir / "env.json"; }

// The image's defaults under the spec's and under set_env's changes; the working directory
// falls back to /workspace or "/" (fallback_working_directory) when neither names one.
ImageDefaults sandbox_defaults(const SandboxRecord& record, const EnvChanges& env_changes) {
  const ImageConfig& image = record.image_config;
  ImageDefaults defaults = resolve_defaults(
      ImageDefaults{image.entrypoint, image.cmd, env_from_entries(image.env), image.workdir, image.user}, record.spec);
  defaults.env = apply_env_changes(std::move(defaults.env), env_changes);
  if (defaults.workdir.empty()) defaults.workdir = fallback_working_directory(record.spec);
  return defaults;
}

agent::wire::ExecMessage exec_message(const SandboxRecord& record, const EnvChanges& env_changes,
                                      const ExecRequest& request) {
  ImageDefaults defaults = sandbox_defaults(record, env_changes);
  // Image env, then the sandbox's and set_env's (all in defaults), then the request's: later
  // ones win.
  for (const auto& [key, value] : request.env) defaults.env[key] = value;
  agent::wire::ExecMessage message;
  message.argv = command_argv(request, defaults, record.id);
  for (const auto& [key, value] : defaults.env) message.env.push_back(key + "=" + value);
  message.cwd = !request.cwd.empty() ? request.cwd : defaults.workdir;
  message.user = !request.user.empty() ? request.user : defaults.user;
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
  const auto paths = sandbox_paths(runtime.config.sandboxes_dir, record.id);
  const EnvChanges env_changes = read_env_changes(env_file(paths));
  info.spec.env = apply_env_changes(std::move(info.spec.env), env_changes);
  info.defaults = sandbox_defaults(record, env_changes);
  bool alive = leader_alive(record);
  info.main_command = agent::read_main_command(paths.dir, alive);
  if (record.ttl_deadline_ms != 0)
    info.expires_at = std::chrono::system_clock::time_point(std::chrono::milliseconds(record.ttl_deadline_ms));
  if (!alive) {
    // Stopped on purpose, ended by its lifetime (its leader says so), or ended otherwise.
    info.state = record.leader_pid == 0                         ? SandboxState::creating
                 : !record.stopped && !read_expiry(paths).empty() ? SandboxState::expired
                                                                  : SandboxState::stopped;
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

void SubcontainerHandle::require_running() {
  if (destroyed_) throw Error(Errc::state, "sandbox " + record_.id + " was destroyed");
  if (leader_alive(record_)) return;
  // Started again since this handle read the record (by another handle or process)?
  try {
    reload_record();
  } catch (const Error&) {
  }
  if (leader_alive(record_)) return;
  if (record_.stopped)
    throw Error(Errc::state, "sandbox " + record_.id + " is stopped; start it with `hutch start " + record_.id + "`");
  throw Error(Errc::state, "sandbox " + record_.id + " is not running (its leader process is gone); start it with `hutch start " +
                               record_.id + "` or remove it with `hutch rm " + record_.id + "`");
}

void SubcontainerHandle::reload_record() { record_ = load_record(paths().record, record_.id); }

FileLock SubcontainerHandle::lock_record() const { return FileLock(paths().record_lock); }

std::optional<SandboxCgroup> SubcontainerHandle::cgroup() const {
  if (record_.cgroup_version == 0) return std::nullopt;
  return SandboxCgroup(record_.cgroup_version, record_.cgroup_dirs, record_.id);
}

SandboxInfo SubcontainerHandle::info() {
  std::lock_guard lock(mutex_);
  if (destroyed_) throw Error(Errc::state, "sandbox " + record_.id + " was destroyed");
  // As saved now: another process may have stopped, started or changed it.
  try {
    reload_record();
    if (record_.cgroup_version != 0 && !leader_alive(record_)) {
      release_cgroup_of_ended(*runtime_, record_.id);
      reload_record();
    }
  } catch (const Error&) {
  }
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
  prepare_command();
  return agent::ExecProcess::start(paths().socket, record_.id, exec_message(record_, read_env_changes(env_file(paths())), request), request);
}

MainCommandInfo SubcontainerHandle::launch(const ExecRequest& request) {
  validate_launch(request);
  if (request.tty) throw_unsupported(backend_name(), "tty");
  prepare_command();
  agent::wire::ExecMessage message = exec_message(record_, read_env_changes(env_file(paths())), request);
  message.launch = true;
  message.stop_grace_ms = static_cast<std::uint32_t>(stop_grace(*runtime_, record_.spec).count());
  message.log_limit = runtime_->config.log_limit;
  auto paths = this->paths();
  auto started = agent::launch_main_command(paths.socket, record_.id, paths.dir, message);
  agent::save_launch_request(paths.dir, message, record_.id);
  return started;
}

void SubcontainerHandle::logs(const std::function<bool(std::string_view)>& sink, bool follow) {
  if (destroyed_) throw Error(Errc::state, "sandbox " + record_.id + " was destroyed");
  auto dir = paths().dir;
  agent::stream_main_log(dir, record_.id, sink, follow, [&] {
    // Called between reads while following: an attached stream counts as activity.
    if (record_.idle_timeout_ms != 0) touch_.touch(paths().socket, record_.id);
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
  // File operations do not pass through the leader: tell it, for its idle timeout.
  if (record_.idle_timeout_ms != 0) touch_.touch(paths().socket, record_.id);
  // The helper that serves it starts with its first call.
  if (!fs_) {
    // The record is read anew for each helper start: a start() since then has a new leader,
    // and after a destroy there is none (Errc::state).
    fs_ = std::make_unique<SandboxFs>(runtime_->config.helper, record_.id, [file = paths().record, id = record_.id] {
      SandboxRecord record;
      try {
        record = load_record(file, id);
      } catch (const Error& e) {
        if (e.code() != Errc::not_found) throw;
        throw Error(Errc::state, "sandbox " + id + " no longer exists (destroyed?)");
      }
      return open_leader_files(record);
    });
    fs_->set_max_file_bytes(record_.spec.max_file_bytes);
  }
  return *fs_;
}

int SubcontainerHandle::connect_port(std::uint16_t port) {
  // The fs helper has joined the sandbox's network namespace: it connects and hands the socket
  // over (fs() checks that the sandbox runs and counts the use against its idle timeout).
  return static_cast<SandboxFs&>(fs()).connect_port(port).release();
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

std::vector<PortBinding> SubcontainerHandle::ports() {
  std::lock_guard lock(mutex_);
  if (destroyed_) throw Error(Errc::state, "sandbox " + record_.id + " was destroyed");
  if (!runtime_->network && !(runtime_->pasta && runtime_->pasta->available()))
    throw_unsupported(backend_name(), "published ports (they need network \"bridge\": root, or pasta without root)");
  // As saved now: another process may have stopped or started it since.
  reload_record();
  // Bound while its forwarder (rootless: its pasta) holds them: not while stopped (the record
  // keeps the last bindings for the next start), nor once that process is gone.
  const bool held = runtime_->pasta ? network::owned_process_alive(record_.pasta_pid, record_.pasta_start)
                                    : network::owned_process_alive(record_.forwarder_pid, record_.forwarder_start);
  if (!leader_alive(record_) || !held) return {};
  return record_.published;
}

void SubcontainerHandle::stop() {
  std::lock_guard lock(mutex_);
  if (destroyed_) throw Error(Errc::state, "sandbox " + record_.id + " was destroyed");
  const FileLock record_lock = lock_record();
  reload_record();
  // Its helper works in the leader's namespaces, which go with the leader.
  with_fs_helper_stopped([&] { stop_sandbox(*runtime_, record_); });
}

void SubcontainerHandle::start() {
  std::lock_guard lock(mutex_);
  if (destroyed_) throw Error(Errc::state, "sandbox " + record_.id + " was destroyed");
  const FileLock record_lock = lock_record();
  reload_record();
  if (leader_alive(record_)) return;
  with_fs_helper_stopped([&] { helper_ = start_sandbox(*runtime_, record_); });
  auto paths = this->paths();
  if (auto message = agent::load_launch_request(paths.dir))
    agent::launch_main_command(paths.socket, record_.id, paths.dir, *message);
}

void SubcontainerHandle::set_lifetime(const LifetimeUpdate& update) {
  std::lock_guard lock(mutex_);
  if (destroyed_) throw Error(Errc::state, "sandbox " + record_.id + " was destroyed");
  const FileLock record_lock = lock_record();
  reload_record();
  const auto now = std::chrono::duration_cast<std::chrono::milliseconds>(
      std::chrono::system_clock::now().time_since_epoch());
  if (update.ttl) record_.ttl_deadline_ms = (now + *update.ttl).count();
  if (update.idle_timeout) record_.idle_timeout_ms = update.idle_timeout->count();
  auto paths = this->paths();
  save_record(paths.record, record_);
  write_plan_lifetime(paths.plan, record_);
  if (leader_alive(record_))
    agent::send_lifetime(paths.socket, record_.id, {record_.ttl_deadline_ms, record_.idle_timeout_ms});
}

void SubcontainerHandle::set_egress(const std::vector<EgressRule>& rules) {
  std::lock_guard lock(mutex_);
  if (destroyed_) throw Error(Errc::state, "sandbox " + record_.id + " was destroyed");
  if (!runtime_->network && !(runtime_->pasta && runtime_->pasta->available()))
    throw Error(Errc::unsupported, "sandbox " + record_.id + ": set_egress: egress rules need the bridge network, "
                                   "which this backend has as root, or without root through pasta (not found)");
  // Under the record's lock: a start meanwhile (which installs the record's rules) sees either
  // the old rules or the new ones, in the kernel and in the record alike.
  const FileLock record_lock = lock_record();
  reload_record();
  try {
    validate_egress(rules, record_.spec.network);
  } catch (const Error& error) {
    throw Error(error.code(), "sandbox " + record_.id + ": set_egress: " + error.what());
  }
  if (runtime_->pasta) network::PastaNetwork::check(record_.id, rules, {});
  if (record_.spec.network == NetworkMode::bridge && leader_alive(record_)) {
    if (runtime_->pasta)
      runtime_->pasta->replace_egress(record_.id, record_.leader_pid, rules);
    else
      runtime_->network->replace_egress(record_.id, rules);
  }
  // A stopped sandbox gets them at its next start (connect_network installs the record's).
  record_.spec.egress = rules;
  save_record(paths().record, record_);
}

void SubcontainerHandle::with_fs_helper_stopped(const std::function<void()>& body) {
  if (fs_) fs_->without_helper(body);
  else body();
}

void SubcontainerHandle::destroy() {
  std::lock_guard lock(mutex_);
  if (destroyed_) return;
  with_fs_helper_stopped([&] { destroy_sandbox(*runtime_, record_.id); });
  destroyed_ = true;
}

std::shared_ptr<ForkFactory> SubcontainerHandle::fork_factory() {
  return std::make_shared<SubcontainerForkFactory>(runtime_);
}

}  // namespace hutch::subcontainer
