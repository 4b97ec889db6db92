#include "template_backend.hpp"

#include "template_handle.hpp"

#include <sbx/error.hpp>
#include <sbx/owner.hpp>
#include <sbx/spec.hpp>

#include <algorithm>
#include <random>
#include <sstream>
#include <utility>

namespace sbx_template {

namespace {

std::string new_sandbox_id() {
  static thread_local std::mt19937_64 random{std::random_device{}()};
  std::ostringstream id;
  id << "tpl-" << std::hex << random();
  return id.str();
}

bool matches(const Sandbox& sandbox, const sbx::Filter& filter) {
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

sbx::Capabilities TemplateBackend::capabilities() const {
  sbx::Capabilities capabilities;  // everything off: no exec engine yet
  capabilities.network_modes = {sbx::NetworkMode::none};
  return capabilities;
}

void TemplateBackend::check_supported(const sbx::SandboxSpec& spec) const {
  if (!spec.mounts.empty()) sbx::throw_unsupported(name(), "mounts");
  if (spec.network != sbx::NetworkMode::none)
    sbx::throw_unsupported(name(), std::string("network mode ") + sbx::to_string(spec.network));
  if (!spec.ports.empty()) sbx::throw_unsupported(name(), "published ports");
}

std::shared_ptr<sbx::Handle> TemplateBackend::create(const sbx::SandboxSpec& spec) {
  sbx::validate(spec);
  check_supported(spec);
  if (static_cast<std::int64_t>(registry_->size()) >= options_.max_sandboxes)
    throw sbx::Error(sbx::Errc::backend,
                     "backend '" + name() + "' already has " + std::to_string(options_.max_sandboxes) +
                         " sandboxes (max_sandboxes); destroy some or raise the limit");
  const std::string id = new_sandbox_id();
  sbx::Labels labels = spec.labels;
  labels[sbx::kLabelManaged] = "true";
  labels[sbx::kLabelId] = id;
  labels[sbx::kLabelOwner] = sbx::current_owner();
  auto sandbox = std::make_shared<Sandbox>(id, spec, std::move(labels));
  registry_->add(sandbox);
  return std::make_shared<TemplateHandle>(registry_, std::move(sandbox));
}

std::shared_ptr<sbx::Handle> TemplateBackend::resume(const std::string& id) {
  auto sandbox = registry_->find(id);
  if (!sandbox)
    throw sbx::Error(sbx::Errc::not_found,
                     "backend '" + name() + "': no sandbox " + id +
                         " (its sandboxes live only in the process that created them)");
  return std::make_shared<TemplateHandle>(registry_, std::move(sandbox));
}

std::vector<sbx::SandboxInfo> TemplateBackend::list(const sbx::Filter& filter) {
  std::vector<sbx::SandboxInfo> infos;
  for (const auto& sandbox : registry_->all())
    if (matches(*sandbox, filter)) infos.push_back(describe(*sandbox, name()));
  return infos;
}

void TemplateBackend::destroy(const std::string& id) { registry_->remove(id); }

std::vector<std::string> TemplateBackend::prune(const sbx::Filter& filter) {
  // The owner of every sandbox here is this process, which is alive; only filter.all and an
  // elapsed ttl remove one. A persistent backend also checks sbx::owner_alive(owner label).
  std::vector<std::string> pruned;
  for (const auto& sandbox : registry_->all()) {
    if (!matches(*sandbox, filter) || !(filter.all || expired(*sandbox))) continue;
    registry_->remove(sandbox->id);
    pruned.push_back(sandbox->id);
  }
  return pruned;
}

}  // namespace sbx_template
