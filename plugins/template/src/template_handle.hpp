// TemplateHandle: one sandbox of the template backend.
//
// Fill in exec and spawn with your engine's way of running a command (see the contract in
// <sbx/handle.hpp> and <sbx/process.hpp>); until then they throw Errc::unsupported, which is
// what the SDK's default verbs (fork, snapshot, pause, stats) do too.
#pragma once

#include "sandbox_registry.hpp"

#include <sbx/handle.hpp>

#include <memory>

namespace sbx_template {

class TemplateHandle final : public sbx::Handle {
 public:
  TemplateHandle(std::shared_ptr<SandboxRegistry> registry, std::shared_ptr<Sandbox> sandbox);

  std::string id() const override;
  sbx::SandboxSpec spec() const override;
  sbx::SandboxInfo info() override;
  sbx::ExecResult exec(const sbx::ExecRequest& request) override;
  std::unique_ptr<sbx::Process> spawn(const sbx::ExecRequest& request) override;
  sbx::Fs& fs() override;
  void destroy() override;

 protected:
  std::string backend_name() const override;

 private:
  // Throws Errc::state once the sandbox is destroyed (through this or any other handle).
  void check_alive() const;

  std::shared_ptr<SandboxRegistry> registry_;
  std::shared_ptr<Sandbox> sandbox_;
};

// The SandboxInfo of `sandbox`, for Handle::info and SandboxBackend::list.
sbx::SandboxInfo describe(const Sandbox& sandbox, const std::string& backend_name);

}  // namespace sbx_template
