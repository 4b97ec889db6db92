// The [backends.docker] table, read once when the plugin is made. Keys:
//   host             "unix:///var/run/docker.sock" | "tcp://host:port" (default: $DOCKER_HOST, then
//                    the docker context, then the socket: engine/endpoint.hpp choose_endpoint)
//   tls_verify       with host: TLS, checking the daemon's certificate (true) or not (false)
//   cert_path        with host: TLS with ca.pem, cert.pem, key.pem from this directory
//   api_version      a fixed Engine API version ("1.41") instead of negotiating
//   request_timeout  deadline of each engine call and of each read on a stream (default "60s")
//   pull             "missing" (default) | "always" | "never" (deprecated: [images] pull)
//   registry_auth    { username, password, server, identity_token } sent as X-Registry-Auth
//                    with every pull (deprecated: [images.auth."HOST"] or ~/.docker/config.json)
//   image_map        { "<name or prefix>" = "<image>", default = "<image>" } (deprecated: [defaults.image_map])
//   default_image    image when the spec names none and image_map has no default (deprecated:
//                    [defaults.image_map] default)
//   env_passthrough  globs of HOST variables copied into every sandbox (none by default)
//                    (deprecated: [defaults] env_passthrough)
//   env_block        globs never copied (wins over env_passthrough) (deprecated: [defaults] env_block)
//   cap_add          capabilities added back after dropping all ("NET_BIND_SERVICE")
//   seccomp_profile  a JSON seccomp profile file; unset = Docker's default profile, and with the
//                    agent hutch's default filter on top (io_uring, vsock, mounts, ... denied)
//   bind_allow       host path prefixes that bind mounts may use (none by default)
//   host_gateway     true: host.docker.internal resolves to the host (default false)
//   stop_grace       deprecated: [defaults] stop_grace (SandboxSpec::stop_grace) replaces it;
//                    still read for sandboxes whose spec sets none (default "10s")
//   log_limit        launch: main.log + main.log.1 stay about this size (default "8m")
//   workspace        "ephemeral" (default) | "persistent" | "none": the /workspace volume
//                    (deprecated: [defaults] workspace, which also names persistent volumes)
//   agent            "auto" (default) | "on" | "off": run commands through hutch-agent as the
//                    container's PID 1 (needs a local unix-socket endpoint; "auto" uses it when
//                    the endpoint is a unix socket and the agent binary exists)
//   agent_binary     the hutch-agent executable (default: next to the plugin module)
//   egress_subnet    the subnet of hutch's docker network for bridge sandboxes (egress_network.hpp;
//                    default 10.214.N.0/24, N from a hash of the state dir: two instances on one
//                    host rarely clash, and one that does names this key in its error)
//   upstream_dns     where the sandboxes' resolver forwards the names it answers (default: the
//                    nameservers of the host's /etc/resolv.conf)
//   resolver         the hutch-resolver executable (default: next to the plugin module)
#pragma once

#include <hutch/image_map.hpp>
#include "engine/endpoint.hpp"

#include "ipv4.hpp"

#include <hutch/config.hpp>
#include <hutch/types.hpp>

#include <chrono>
#include <optional>
#include <hutch/image_settings.hpp>

#include <string>
#include <vector>

namespace hutch::docker {

enum class PullPolicy { always, missing, never };
enum class WorkspaceMode { none, ephemeral, persistent };
enum class AgentMode { automatic, on, off };

const char* to_string(PullPolicy policy) noexcept;
const char* to_string(WorkspaceMode mode) noexcept;
const char* to_string(AgentMode mode) noexcept;
// Throw Errc::invalid_argument naming the value and the accepted ones.
PullPolicy parse_pull_policy(const std::string& text);
WorkspaceMode parse_workspace_mode(const std::string& text);
AgentMode parse_agent_mode(const std::string& text);

struct RegistryAuth {
  std::string username;
  std::string password;
  std::string server;
  std::string identity_token;
};

// The X-Registry-Auth header value: base64url of the JSON the Engine expects.
std::string registry_auth_header(const RegistryAuth& auth);

struct DockerConfig {
  EndpointSettings endpoint;  // host, tls_verify, cert_path
  std::optional<std::string> api_version;
  Duration request_timeout = std::chrono::seconds(60);
  PullPolicy pull = PullPolicy::missing;
  bool pull_in_backend_table = false;  // the deprecated [backends.docker] pull was given: it wins
  std::optional<RegistryAuth> registry_auth;  // deprecated; wins over `images` credentials
  ImageSettings images;  // the shared [images] table (PluginContext::images)
  ImageMap image_map;
  std::vector<std::string> env_passthrough;
  std::vector<std::string> env_block;
  std::vector<std::string> cap_add;
  std::optional<std::string> seccomp_profile;       // the file named in config
  std::optional<std::string> seccomp_profile_json;  // its content, read and checked at load
  std::vector<std::string> bind_allow;
  bool host_gateway = false;
  Duration stop_grace = kDefaultStopGrace;
  std::uint64_t log_limit = 8u << 20;
  WorkspaceMode workspace = WorkspaceMode::ephemeral;
  AgentMode agent = AgentMode::automatic;
  std::optional<std::string> agent_binary;  // unset: hutch-agent next to the plugin module
  // Bridge sandboxes' network, DNS and resolver (egress_network.hpp).
  std::optional<egress::Ipv4Cidr> egress_subnet;  // unset: egress_network.hpp default_egress_subnet
  std::vector<std::string> upstream_dns;
  std::optional<std::string> resolver;  // unset: hutch-resolver next to the plugin module
  // hutch's state directory (PluginContext::state_dir; empty: default_state_dir()). Per-sandbox
  // host directories (the agent's socket) are made in <state_dir>/docker/<id>.
  std::string state_dir;
  // Reads and checks every key; unknown keys are Errc::config with file:line:col.
  // `warn` hears about deprecated keys (stop_grace; image_map, default_image, env_passthrough,
  // env_block and workspace, which moved to [defaults]), one sentence each saying where they
  // belong now; they still work.
  static DockerConfig from_table(const ConfigTable& table, const std::function<void(const std::string&)>& warn = {});
  // Takes the [images] table: its pull policy unless [backends.docker] pull was given, and
  // its credentials for pulls.
  void use_image_settings(ImageSettings settings);
};

// The X-Registry-Auth value for pulling `reference`: the deprecated registry_auth when set,
// else [images.auth."HOST"] or the docker CLI's login for its registry; nullopt: anonymous.
std::optional<std::string> registry_auth_for(const DockerConfig& config, const std::string& reference);

}  // namespace hutch::docker
