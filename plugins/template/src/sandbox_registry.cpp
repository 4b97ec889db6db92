#include "sandbox_registry.hpp"

namespace hutch_template {

void SandboxRegistry::add(std::shared_ptr<Sandbox> sandbox) {
  std::lock_guard lock(mutex_);
  sandboxes_.emplace(sandbox->id, std::move(sandbox));
}

std::shared_ptr<Sandbox> SandboxRegistry::find(const std::string& id) const {
  std::lock_guard lock(mutex_);
  const auto found = sandboxes_.find(id);
  return found == sandboxes_.end() ? nullptr : found->second;
}

std::vector<std::shared_ptr<Sandbox>> SandboxRegistry::all() const {
  std::lock_guard lock(mutex_);
  std::vector<std::shared_ptr<Sandbox>> sandboxes;
  for (const auto& [id, sandbox] : sandboxes_) sandboxes.push_back(sandbox);
  return sandboxes;
}

std::size_t SandboxRegistry::size() const {
  std::lock_guard lock(mutex_);
  return sandboxes_.size();
}

void SandboxRegistry::remove(const std::string& id) {
  std::shared_ptr<Sandbox> removed;
  {
    std::lock_guard lock(mutex_);
    const auto found = sandboxes_.find(id);
    if (found == sandboxes_.end()) return;
    removed = std::move(found->second);
    sandboxes_.erase(found);
  }
  removed->fs.close();
}

}  // namespace hutch_template
