// TemplateBackend: a skeleton SandboxBackend to copy and fill in.
//
// What works: sandboxes are created, listed, resumed, pruned and destroyed, and each has a
// real (in-memory) Fs. What does not: exec and spawn throw Errc::unsupported — that is the
// part to write for your engine. Keep the constructor cheap: connect to an engine on first
// use, so `sbx backends` can list the backend while the engine is down.
#pragma once

#include "sandbox_registry.hpp"

#include <sbx/backend.hpp>

#include <cstdint>
#include <memory>
#include <string>

namespace sbx_template {

struct TemplateOptions {
  std::int64_t max_sandboxes = 100;  // [backends.<name>] max_sandboxes
};

class TemplateBackend final : public sbx::SandboxBackend {
 public:
  TemplateBackend(std::string name, TemplateOptions options);

  std::string name() const override;
  sbx::Capabilities capabilities() const override;
  std::shared_ptr<sbx::Handle> create(const sbx::SandboxSpec& spec) override;
  std::shared_ptr<sbx::Handle> resume(const std::string& id) override;
  std::vector<sbx::SandboxInfo> list(const sbx::Filter& filter) override;
  void destroy(const std::string& id) override;
  std::vector<std::string> prune(const sbx::Filter& filter) override;

 private:
  void check_supported(const sbx::SandboxSpec& spec) const;

  const TemplateOptions options_;
  std::shared_ptr<SandboxRegistry> registry_;
};

}  // namespace sbx_template
