// Whether the engine gives its containers cgroups it controls: resource limits and freezing
// (pause, and the pause a commit makes) need them. Rootless Podman on cgroup v1 accepts Memory,
// PidsLimit and NanoCpus in a create request and silently ignores them (its own CLI prints
// "Resource limits are not supported and ignored on cgroups V1 rootless systems"), and refuses
// to pause ("this container does not have a cgroup"); rootless dockerd on cgroup v1 runs without
// a cgroup driver. A limit the engine drops would be a limit hutch claims but does not hold:
// such an engine gets sandboxes without the safe defaults (warned by SandboxBackend::warnings()),
// an asked limit is refused, pause is unsupported and commits do not pause.
#pragma once

#include "engine/client.hpp"
#include "engine/endpoint.hpp"

#include <hutch/types.hpp>

#include <boost/json.hpp>

#include <mutex>
#include <optional>
#include <string>

namespace hutch::docker {

// Why the engine described by its GET /info answer cannot enforce memory, pids and CPU limits
// or freeze a container, or nullopt when it can.
std::optional<std::string> cgroup_problem(const boost::json::object& info);

// `limits` as the engine can hold them: unchanged when `problem` is nullopt; otherwise without
// the safe defaults, and Errc::unsupported naming `problem` when a limit was asked for.
Limits enforceable_limits(const Limits& limits, const std::optional<std::string>& problem);

// Whether the engine at `endpoint` may run rootless: a remote engine may; a local one does when
// its socket is not owned by root (a user's own service). A root-owned socket is a rootful
// engine, which applies limits.
bool engine_may_be_rootless(const Endpoint& endpoint);

// cgroup_problem of one engine. /info costs tens of milliseconds on dockerd and seconds on a
// busy Podman, so it is read only for an engine that may be rootless, once, on first use.
class EngineCgroupSupport {
 public:
  explicit EngineCgroupSupport(bool engine_may_be_rootless) : consult_engine_(engine_may_be_rootless) {}
  const std::optional<std::string>& problem(EngineClient& client);

 private:
  bool consult_engine_;
  std::once_flag read_;
  std::optional<std::string> problem_;
};

}  // namespace hutch::docker
