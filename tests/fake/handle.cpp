#include "handle.hpp"

#include "backend.hpp"
#include "process.hpp"

#include <hutch/env_changes.hpp>
#include <hutch/error.hpp>
#include <hutch/fork.hpp>
#include <hutch/image_defaults.hpp>
#include <hutch/spec.hpp>

namespace hutch::fake {

FakeHandle::FakeHandle(std::shared_ptr<FakeBackend> backend, SandboxRecord record)
    : backend_(std::move(backend)),
      id_(record.id),
      spec_(std::move(record.spec)),
      fs_(backend_->store().files_dir(id_), id_) {
  fs_.set_max_file_bytes(spec_.max_file_bytes);
}

std::string FakeHandle::backend_name() const { return backend_->name(); }

SandboxRecord FakeHandle::current() const {
  auto record = backend_->store().load(id_);
  if (!record) throw Error(Errc::state, "fake sandbox '" + id_ + "' is gone (destroyed)");
  return *record;
}

SandboxRecord FakeHandle::running() const {
  SandboxRecord record = current();
  if (record.stopped)
    throw Error(Errc::state, "fake sandbox '" + id_ + "' is stopped; start it first");
  if (backend_->lifetime_passed(record))
    throw Error(Errc::state, "fake sandbox '" + id_ + "' expired (its ttl or idle timeout passed); start it again");
  return record;
}

SandboxSpec FakeHandle::spec() const {
  const SandboxRecord record = current();
  SandboxSpec spec = spec_;
  spec.egress = record.spec.egress;  // Handle::set_egress changes them
  spec.env = apply_env_changes(std::move(spec.env), read_env_changes(env_file()));
  return spec;
}

std::filesystem::path FakeHandle::env_file() const { return backend_->store().sandbox_dir(id_) / "env.json"; }

void FakeHandle::set_env(const Env& set, const std::vector<std::string>& unset) {
  validate_env_change(set, unset);
  current();
  update_env_changes(env_file(), set, unset);
}

SandboxInfo FakeHandle::info() { return backend_->info_of(current()); }

Fs& FakeHandle::fs() {
  running();
  backend_->mark_active(id_);
  return fs_;
}

std::unique_ptr<Process> FakeHandle::start(const ExecRequest& given, bool keep_stdin_open) {
  SandboxRecord record = running();
  if (record.paused)
    throw Error(Errc::state, "fake sandbox '" + id_ + "' is paused; unpause it first");
  validate(given);
  ExecRequest request = given;
  request.argv = command_argv(given, resolve_defaults({}, record.spec), id_);
  if (request.tty) throw_unsupported(backend_name(), "tty");

  CommandContext context;
  context.env = apply_env_changes(record.spec.env, read_env_changes(env_file()));
  for (const auto& [key, value] : request.env) context.env[key] = value;
  context.cwd = normalize_sandbox_path(
      !request.cwd.empty() ? request.cwd : (record.spec.workdir.empty() ? "/" : record.spec.workdir));
  if (!fs_.exists(context.cwd) || fs_.stat(context.cwd).type != FileType::directory)
    throw Error(Errc::not_found, "working directory '" + context.cwd +
                                     "' does not exist in fake sandbox '" + id_ + "'");
  context.fs = &fs_;

  backend_->store().mark_active(id_);
  auto process = std::make_unique<FakeProcess>(request, std::move(context), id_,
                                               [backend = backend_, id = id_] { backend->mark_active(id); });
  if (!keep_stdin_open && !request.stdin_data) process->close_stdin();
  backend_->track(id_, process->state());
  return process;
}

ExecResult FakeHandle::exec(const ExecRequest& request) {
  return start(request, false)->wait();
}

std::unique_ptr<Process> FakeHandle::spawn(const ExecRequest& request) {
  return start(request, true);
}

SnapshotInfo FakeHandle::snapshot(const std::string& label) {
  current();
  return backend_->store().create_snapshot(id_, spec_.image, label).info;
}

void FakeHandle::set_paused(bool paused) {
  SandboxRecord record = current();
  if (record.paused == paused)
    throw Error(Errc::state, "fake sandbox '" + id_ + "' is already " +
                                 (paused ? "paused" : "running"));
  record.paused = paused;
  backend_->store().save(record);
}

void FakeHandle::stop() {
  SandboxRecord record = current();
  backend_->stop_commands(id_, record.spec.stop_grace.value_or(kDefaultStopGrace));
  record.stopped = true;
  record.paused = false;
  backend_->store().save(record);
}

void FakeHandle::start() {
  SandboxRecord record = current();
  const auto now = std::chrono::system_clock::now();
  // A lifetime that has passed counts again from this start.
  if (backend_->lifetime_passed(record)) {
    if (record.spec.ttl)
      record.ttl_deadline_ms = std::chrono::duration_cast<std::chrono::milliseconds>((now + *record.spec.ttl).time_since_epoch()).count();
    backend_->mark_active(id_);
  }
  record.stopped = false;
  backend_->store().save(record);
}

void FakeHandle::set_lifetime(const LifetimeUpdate& update) {
  SandboxRecord record = current();
  const auto now = std::chrono::system_clock::now();
  if (update.ttl)
    record.ttl_deadline_ms = std::chrono::duration_cast<std::chrono::milliseconds>((now + *update.ttl).time_since_epoch()).count();
  if (update.idle_timeout) record.idle_timeout_ms = update.idle_timeout->count();
  backend_->store().save(record);
}

void FakeHandle::set_egress(const std::vector<EgressRule>& rules) {
  SandboxRecord record = current();
  try {
    validate_egress(rules, record.spec.network);
  } catch (const Error& error) {
    throw Error(error.code(), "fake sandbox '" + id_ + "': set_egress: " + error.what());
  }
  record.spec.egress = rules;
  backend_->store().save(record);
}

void FakeHandle::pause() { set_paused(true); }
void FakeHandle::unpause() { set_paused(false); }

Stats FakeHandle::stats() {
  current();
  return Stats{};  // nothing runs in a fake sandbox: no cpu, no memory, no pids
}

void FakeHandle::destroy() { backend_->destroy(id_); }

std::shared_ptr<ForkFactory> FakeHandle::fork_factory() {
  // The generic factory holds the backend by reference; the holder keeps it alive as long as
  // the factory is.
  struct Holder {
    std::shared_ptr<FakeBackend> backend;
    std::shared_ptr<ForkFactory> factory;
  };
  auto holder = std::make_shared<Holder>(Holder{backend_, make_fs_copy_fork_factory(*backend_)});
  return std::shared_ptr<ForkFactory>(holder, holder->factory.get());
}

}  // namespace hutch::fake
