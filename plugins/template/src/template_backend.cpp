#include "template_backend.hpp"

#include "template_handle.hpp"

#include <hutch/error.hpp>
#include <hutch/owner.hpp>
#include <hutch/sandbox_files.hpp>
#include <hutch/spec.hpp>
#include <hutch/workspace.hpp>

#include <algorithm>
#include <random>
#include <sstream>
#include <utility>

namespace hutch_template {

namespace {

std::string new_sandbox_id() {
  static thread_local std::mt19937_64 random{std::random_device{}()};
  std::ostringstream id;
  id << "tpl-" << std::hex << random();
  return id.str();
}

bool matches(const Sandbox& sandbox, const hutch::Filter& filter) {
  return std::all_of(filter.labels.begin(), filter.labels.end(), [&](const auto& wanted) {
    const auto found = sandbox.labels.find(wanted.first);
    return found != sandbox.labels.end() && found->second == wanted.second;
  });
}

bool expired(const Sandbox& sandbox) {
  return sandbox.spec.ttl && std::chrono::system_clock::now() - sandbox.created > *sandbox.spec.ttl;
}

}  // namespace

TemplateBackend::TemplateBackend(std::string name, TemplateOptions options)
    : options_(options), registry_(std::make_shared<SandboxRegistry>(std::move(name))) {}

std::string TemplateBackend::name() const { return registry_->backend_name(); }

hutch::Capabilities TemplateBackend::capabilities() const {
  hutch::Capabilities capabilities;  // everything off but stop: no exec engine yet
  capabilities.stop = true;
  capabilities.network_modes = {hutch::NetworkMode::none};
  return capabilities;
}

void TemplateBackend::check_supported(const hutch::SandboxSpec& spec) const {
  if (!spec.mounts.empty()) hutch::throw_unsupported(name(), "mounts");
  if (spec.network != hutch::NetworkMode::none)
    hutch::throw_unsupported(name(), std::string("network mode ") + hutch::to_string(spec.network));
  // Published ports need a network to forward to (and Handle::ports to say where they are):
  // a backend with both sets Capabilities::ports and validates them with hutch::validate_ports.
  if (!spec.ports.empty()) hutch::throw_unsupported(name(), "published ports");
  // No volumes() here: a workspace that outlives its sandbox cannot be kept. No image verbs
  // either (images(), import_image, ...): the in-memory sandboxes have no image store.
  hutch::refuse_named_workspace(spec, name());
}

std::shared_ptr<hutch::Handle> TemplateBackend::create(const hutch::SandboxSpec& spec) {
  hutch::validate(spec);
  check_supported(spec);
  if (static_cast<std::int64_t>(registry_->size()) >= options_.max_sandboxes)
    throw hutch::Error(hutch::Errc::backend,
                     "backend '" + name() + "' already has " + std::to_string(options_.max_sandboxes) +
                         " sandboxes (max_sandboxes); destroy some or raise the limit");
  const std::string id = new_sandbox_id();
  hutch::Labels labels = spec.labels;
  labels[hutch::kLabelManaged] = "true";
  labels[hutch::kLabelId] = id;
  labels[hutch::kLabelOwner] = hutch::current_owner();
  auto sandbox = std::make_shared<Sandbox>(id, hutch::without_file_contents(spec), std::move(labels));
  // The ephemeral /workspace (SandboxSpec::workspace) is an empty directory of the sandbox.
  if (hutch::workspace_of(spec).kind == hutch::WorkspaceKind::ephemeral) sandbox->fs.mkdir(hutch::kWorkspaceTarget, true, 0755);
  registry_->add(sandbox);
  // SandboxSpec::files go in through the handle's Fs before create returns; a failure
  // destroys the sandbox again. Copy this line into a real backend's create.
  return hutch::stage_files_or_destroy(std::make_shared<TemplateHandle>(registry_, std::move(sandbox)), spec.files);
}

std::shared_ptr<hutch::Handle> TemplateBackend::resume(const std::string& id) {
  auto sandbox = registry_->find(id);
  if (!sandbox)
    throw hutch::Error(hutch::Errc::not_found,
                     "backend '" + name() + "': no sandbox " + id +
                         " (its sandboxes live only in the process that created them)");
  return std::make_shared<TemplateHandle>(registry_, std::move(sandbox));
}

std::vector<hutch::SandboxInfo> TemplateBackend::list(const hutch::Filter& filter) {
  std::vector<hutch::SandboxInfo> infos;
  for (const auto& sandbox : registry_->all())
    if (matches(*sandbox, filter)) infos.push_back(describe(*sandbox, name()));
  return infos;
}

void TemplateBackend::destroy(const std::string& id) { registry_->remove(id); }

std::vector<std::string> TemplateBackend::prune(const hutch::Filter& filter) {
  // The owner of every sandbox here is this process, which is alive; only filter.all and an
  // elapsed ttl remove one. A persistent backend also checks hutch::owner_alive(owner label).
  std::vector<std::string> pruned;
  for (const auto& sandbox : registry_->all()) {
    if (!matches(*sandbox, filter) || !(filter.all || expired(*sandbox))) continue;
    registry_->remove(sandbox->id);
    pruned.push_back(sandbox->id);
  }
  return pruned;
}

}  // namespace hutch_template
