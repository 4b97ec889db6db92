// CREATE-OPTIONS, shared by `hutch create` and `hutch run`: what the user typed, and the
// SandboxSpec it means once the configuration's [defaults] are merged in.
#pragma once

#include <hutch/config.hpp>
#include <hutch/types.hpp>

#include <CLI/CLI.hpp>

#include <optional>
#include <string>
#include <vector>

namespace hutch::cli {

struct CreateOptions {
  std::optional<std::string> image;
  std::optional<std::string> from_snapshot;  // a snapshot id: restore instead of create
  std::vector<std::string> env;  // K=V
  std::optional<std::string> workdir;
  std::optional<std::string> user;
  std::optional<std::string> memory;
  std::optional<double> cpus;
  std::optional<std::string> pids;
  std::optional<std::string> network;
  std::vector<std::string> mounts;
  std::vector<std::string> labels;  // K=V
  std::optional<std::string> ttl;
  std::optional<std::string> idle_timeout;
  std::optional<std::string> stop_grace;
  bool read_only = false;
  std::vector<std::string> files;  // HOST_PATH:SANDBOX_PATH[:MODE]
  std::optional<std::string> max_file_bytes;
  std::optional<std::string> workspace;  // ephemeral | none | NAME
  std::optional<std::string> entrypoint;  // "" clears the image's
  // --allow-net / --deny-net, in the order given on the command line (the first match wins).
  std::vector<EgressRule> egress;
  std::vector<std::string> publish;  // [HOST_IP:]HOST_PORT:SANDBOX_PORT[/tcp|udp]
  // A warm pool of the service (--host): carried to the remote backend as the spec label
  // hutch.pool, which it sends as the request's "pool" (no SandboxSpec field of its own).
  std::optional<std::string> pool;
};

void add_create_options(CLI::App& command, CreateOptions& options);
// --allow-net CIDR|DOMAIN and --deny-net CIDR|DOMAIN|all (repeatable), appended to `rules` in the order given:
// `hutch create`/`run` and `hutch update` take the same options.
void add_egress_options(CLI::App& command, std::vector<EgressRule>& rules);
// Errc::invalid_argument naming the option and its value for a destination that is not "all",
// an address, a network or a domain (hutch::validate_egress).
void check_egress_options(const std::vector<EgressRule>& rules);

// Parses every value (naming the option in any error), merges config.defaults, validates.
// --image with --from-snapshot is Errc::invalid_argument: the snapshot is the filesystem.
// With --pool, only --env, --ttl, --idle-timeout and --file apply (the sandbox is made
// already): any other option given is Errc::invalid_argument naming it.
// `command`: the program the sandbox is made for (`hutch run`), from which [defaults.image_map]
// picks the image when none is given (apply_config_policy).
SandboxSpec make_spec(const CreateOptions& options, const Config& config,
                      const std::vector<std::string>& command = {});

}  // namespace hutch::cli
