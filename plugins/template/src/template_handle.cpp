#include "template_handle.hpp"

#include <sbx/backend.hpp>
#include <sbx/error.hpp>
#include <sbx/spec.hpp>

#include <utility>

namespace sbx_template {

TemplateHandle::TemplateHandle(std::shared_ptr<SandboxRegistry> registry,
                               std::shared_ptr<Sandbox> sandbox)
    : registry_(std::move(registry)), sandbox_(std::move(sandbox)) {}

void TemplateHandle::check_alive() const {
  if (registry_->find(sandbox_->id) != sandbox_)
    throw sbx::Error(sbx::Errc::state, "sandbox " + sandbox_->id + " is destroyed");
}

std::string TemplateHandle::id() const { return sandbox_->id; }
sbx::SandboxSpec TemplateHandle::spec() const { return sandbox_->spec; }

sbx::SandboxInfo TemplateHandle::info() {
  check_alive();
  return describe(*sandbox_, registry_->backend_name());
}

sbx::ExecResult TemplateHandle::exec(const sbx::ExecRequest& request) {
  check_alive();
  sbx::validate(request);
  // TODO(plugin author): run request.argv inside the sandbox and fill an ExecResult.
  sbx::throw_unsupported(backend_name(), "exec");
}

std::unique_ptr<sbx::Process> TemplateHandle::spawn(const sbx::ExecRequest& request) {
  check_alive();
  sbx::validate(request);
  // TODO(plugin author): start request.argv and return a Process streaming its output.
  sbx::throw_unsupported(backend_name(), "spawn");
}

sbx::Fs& TemplateHandle::fs() { return sandbox_->fs; }

void TemplateHandle::destroy() { registry_->remove(sandbox_->id); }

std::string TemplateHandle::backend_name() const { return registry_->backend_name(); }

sbx::SandboxInfo describe(const Sandbox& sandbox, const std::string& backend_name) {
  sbx::SandboxInfo info;
  info.id = sandbox.id;
  info.backend = backend_name;
  info.image = sandbox.spec.image;
  info.state = sbx::SandboxState::running;
  info.labels = sandbox.labels;
  info.created = sandbox.created;
  info.spec = sandbox.spec;
  return info;
}

}  // namespace sbx_template
