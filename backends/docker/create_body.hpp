// SandboxSpec -> the JSON body of POST /containers/create. A pure function of its inputs (no
// daemon, no host lookups), so every field's mapping is unit-tested.
//
// Security defaults: all capabilities dropped (then cap_add), no-new-privileges, Docker's
// default seccomp profile unless one is given, network "none" unless the spec asks, published
// ports bound to 127.0.0.1 only. PID 1 is docker-init (Init=true, reaps zombies) running a
// shell loop that sleeps until SIGTERM, so the sandbox stays up between commands; or, with
// the agent (sandbox_agent.hpp), hutch-agent itself.
#pragma once

#include "podman_default_ulimits.hpp"

#include <hutch/types.hpp>

#include <boost/json/object.hpp>

#include <optional>
#include <string>
#include <vector>

namespace hutch::docker {

// The keep-alive command: needs only a POSIX sh (busybox is enough). `sleep & wait` keeps the
// shell responsive to SIGTERM: on `docker stop` it sends SIGTERM to every other process of the
// container and exits 0 once they are gone (a graceful stop without the agent).
extern const std::vector<std::string> kKeepAliveCommand;

// Where the container gets a tmpfs: the spec's tmpfs mounts, and with read_only_root /tmp,
// /var/tmp and /run (unless a spec mount takes their place), sorted.
std::vector<std::string> tmpfs_mount_points(const SandboxSpec& spec);

// hutch-agent as PID 1 (see sandbox_agent.hpp for what the container gets).
struct AgentPlan {
  std::string binary;    // host path, bind-mounted read-only at kAgentInContainer
  std::string run_dir;   // host path, bind-mounted at kAgentRunDirInContainer
  std::vector<std::string> entrypoint;
  std::vector<std::string> capabilities;  // added to cap_add for the agent itself
};

// A bridge sandbox on hutch's network (egress_network.hpp): its fixed address, and the
// resolver that answers its names.
struct EgressPlan {
  std::string network;
  std::string address;
  std::string dns;
};

struct CreatePlan {
  std::string image;  // resolved reference
  SandboxSpec spec;   // validated; binds already checked against bind_allow
  Env env;            // final environment (host passthrough merged under spec.env)
  Labels labels;      // every label, hutch.* included
  std::vector<std::string> cap_add;
  std::optional<std::string> seccomp_profile_json;
  bool host_gateway = false;
  std::optional<std::string> workspace_volume;  // mounted at kWorkspaceTarget when set
  std::optional<AgentPlan> agent;               // unset: docker-init and the shell loop
  // Sent along with the spec's own ulimits (fsize), for an engine that drops its defaults once
  // a request names any (engine_quirks.hpp named_ulimits_replace_defaults).
  std::vector<Ulimit> default_ulimits;
  // Set: the sandbox joins hutch's network instead of the engine's "bridge".
  std::optional<EgressPlan> egress;
};


// Throws Errc::invalid_argument for a spec the Engine cannot express (idmapped mounts,
// subpaths of volumes, ports without a network, backup mounts), naming the field;
// Errc::unsupported for egress rules without plan.egress (create_sandbox says why).
boost::json::object make_create_body(const CreatePlan& plan);

}  // namespace hutch::docker
