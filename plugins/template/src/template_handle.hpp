// TemplateHandle: one sandbox of the template backend.
//
// Fill in exec and spawn with your engine's way of running a command (see the contract in
// <hutch/handle.hpp> and <hutch/process.hpp>); until then they throw Errc::unsupported, which is
// what the SDK's default verbs (fork, snapshot, pause, stats, connect_port, set_egress) do too.
// set_egress (changing a bridge sandbox's egress rules) is left to that default: this backend
// has no network; one that enforces SandboxSpec::egress overrides it and sets
// Capabilities::set_egress.
#pragma once

#include "sandbox_registry.hpp"

#include <hutch/handle.hpp>

#include <memory>

namespace hutch_template {

class TemplateHandle final : public hutch::Handle {
 public:
  TemplateHandle(std::shared_ptr<SandboxRegistry> registry, std::shared_ptr<Sandbox> sandbox);

  std::string id() const override;
  hutch::SandboxSpec spec() const override;
  hutch::SandboxInfo info() override;
  hutch::ExecResult exec(const hutch::ExecRequest& request) override;
  std::unique_ptr<hutch::Process> spawn(const hutch::ExecRequest& request) override;
  hutch::Fs& fs() override;
  void stop() override;
  void start() override;
  void set_lifetime(const hutch::LifetimeUpdate& update) override;
  void destroy() override;

 protected:
  std::string backend_name() const override;

 private:
  // Throws Errc::state once the sandbox is destroyed (through this or any other handle).
  void check_alive() const;
  // check_alive, and Errc::state while the sandbox is stopped.
  void check_running() const;

  std::shared_ptr<SandboxRegistry> registry_;
  std::shared_ptr<Sandbox> sandbox_;
};

// The SandboxInfo of `sandbox`, for Handle::info and SandboxBackend::list.
hutch::SandboxInfo describe(const Sandbox& sandbox, const std::string& backend_name);

}  // namespace hutch_template
