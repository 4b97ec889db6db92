// TemplateBackend: a skeleton SandboxBackend to copy and fill in.
//
// What works: sandboxes are created, listed, resumed, pruned and destroyed, and each has a
// real (in-memory) Fs. What does not: exec and spawn throw Errc::unsupported — that is the
// part to write for your engine. Keep the constructor cheap: connect to an engine on first
// use, so `hutch backends` can list the backend while the engine is down.
#pragma once

#include "sandbox_registry.hpp"

#include <hutch/backend.hpp>

#include <cstdint>
#include <memory>
#include <string>

namespace hutch_template {

struct TemplateOptions {
  std::int64_t max_sandboxes = 100;  // [backends.<name>] max_sandboxes
};

class TemplateBackend final : public hutch::SandboxBackend {
 public:
  TemplateBackend(std::string name, TemplateOptions options);

  std::string name() const override;
  hutch::Capabilities capabilities() const override;
  std::shared_ptr<hutch::Handle> create(const hutch::SandboxSpec& spec) override;
  std::shared_ptr<hutch::Handle> resume(const std::string& id) override;
  std::vector<hutch::SandboxInfo> list(const hutch::Filter& filter) override;
  void destroy(const std::string& id) override;
  std::vector<std::string> prune(const hutch::Filter& filter) override;

 private:
  void check_supported(const hutch::SandboxSpec& spec) const;

  const TemplateOptions options_;
  std::shared_ptr<SandboxRegistry> registry_;
};

}  // namespace hutch_template
