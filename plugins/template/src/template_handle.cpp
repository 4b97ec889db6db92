#include "template_handle.hpp"

#include <hutch/backend.hpp>
#include <hutch/error.hpp>
#include <hutch/image_defaults.hpp>
#include <hutch/spec.hpp>

#include <utility>

namespace hutch_template {

TemplateHandle::TemplateHandle(std::shared_ptr<SandboxRegistry> registry,
                               std::shared_ptr<Sandbox> sandbox)
    : registry_(std::move(registry)), sandbox_(std::move(sandbox)) {}

void TemplateHandle::check_alive() const {
  if (registry_->find(sandbox_->id) != sandbox_)
    throw hutch::Error(hutch::Errc::state, "sandbox " + sandbox_->id + " is destroyed");
}

void TemplateHandle::check_running() const {
  check_alive();
  if (sandbox_->stopped) throw hutch::Error(hutch::Errc::state, "sandbox " + sandbox_->id + " is stopped; start it first");
}

std::string TemplateHandle::id() const { return sandbox_->id; }
hutch::SandboxSpec TemplateHandle::spec() const { return sandbox_->spec; }

hutch::SandboxInfo TemplateHandle::info() {
  check_alive();
  return describe(*sandbox_, registry_->backend_name());
}

hutch::ExecResult TemplateHandle::exec(const hutch::ExecRequest& request) {
  check_running();
  hutch::validate(request);
  // TODO(plugin author): run request.argv inside the sandbox and fill an ExecResult.
  hutch::throw_unsupported(backend_name(), "exec");
}

std::unique_ptr<hutch::Process> TemplateHandle::spawn(const hutch::ExecRequest& request) {
  check_running();
  hutch::validate(request);
  // TODO(plugin author): start hutch::command_argv(request, <the image's defaults resolved
  // under the spec: hutch::resolve_defaults>, id()) (<hutch/image_defaults.hpp>: it puts the
  // entrypoint first when request.use_entrypoint) and return a Process streaming its output.
  // With request.tty, give it a terminal of tty_cols x tty_rows and implement
  // Process::resize; or leave capabilities().tty false and throw Errc::unsupported.
  hutch::throw_unsupported(backend_name(), "spawn");
}

hutch::Fs& TemplateHandle::fs() { return sandbox_->fs; }

void TemplateHandle::stop() {
  check_alive();
  // TODO(plugin author): SIGTERM to every process, SIGKILL after spec().stop_grace; keep files.
  sandbox_->stopped = true;
}

void TemplateHandle::start() {
  check_alive();
  // TODO(plugin author): start the sandbox's processes again (and its launched main command).
  sandbox_->stopped = false;
}

void TemplateHandle::set_lifetime(const hutch::LifetimeUpdate& update) {
  check_alive();
  // TODO(plugin author): hand the lifetimes to what enforces them in the sandbox.
  if (update.ttl)
    sandbox_->ttl_deadline_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                                    (std::chrono::system_clock::now() + *update.ttl).time_since_epoch())
                                    .count();
}

void TemplateHandle::destroy() { registry_->remove(sandbox_->id); }

std::string TemplateHandle::backend_name() const { return registry_->backend_name(); }

hutch::SandboxInfo describe(const Sandbox& sandbox, const std::string& backend_name) {
  hutch::SandboxInfo info;
  info.id = sandbox.id;
  info.backend = backend_name;
  info.image = sandbox.spec.image;
  const std::int64_t deadline = sandbox.ttl_deadline_ms;
  if (deadline != 0) info.expires_at = std::chrono::system_clock::time_point(std::chrono::milliseconds(deadline));
  info.state = sandbox.stopped                                                     ? hutch::SandboxState::stopped
               : info.expires_at && std::chrono::system_clock::now() >= *info.expires_at ? hutch::SandboxState::expired
                                                                                    : hutch::SandboxState::running;
  info.labels = sandbox.labels;
  info.created = sandbox.created;
  info.spec = sandbox.spec;
  // TODO(plugin author): the image's own Entrypoint/Cmd/Env/WorkingDir/User go in first.
  info.defaults = hutch::resolve_defaults({}, sandbox.spec);
  return info;
}

}  // namespace hutch_template
