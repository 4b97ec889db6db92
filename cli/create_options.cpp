#include "create_options.hpp"

#include <hutch/error.hpp>
#include <hutch/ports.hpp>
#include <hutch/service_labels.hpp>
#include <hutch/spec.hpp>
#include <hutch/spec_policy.hpp>
#include <hutch/units.hpp>

#include <charconv>
#include <filesystem>
#include <functional>
#include <system_error>

namespace hutch::cli {

void add_egress_options(CLI::App& command, std::vector<EgressRule>& rules) {
  // Both append to one list as they are parsed, so that their order on the command line is
  // the rules' order.
  auto egress_option = [&](const char* name, EgressAction action, const char* help) {
    command.add_option_function<std::string>(name, [&rules, action](const std::string& destination) {
      rules.push_back({action, destination});
    }, help)->trigger_on_parse()->multi_option_policy(CLI::MultiOptionPolicy::TakeAll)->allow_extra_args(false);
  };
  egress_option("--allow-net", EgressAction::allow,
                "bridge network: allow connections to CIDR (an address or network) or DOMAIN (example.com, "
                "*.example.com: the names below it; through the sandbox's resolver); repeatable, first match wins");
  egress_option("--deny-net", EgressAction::deny,
                "bridge network: refuse connections to CIDR or DOMAIN, or to everything with 'all' (repeatable, first "
                "match wins)");
}

void check_egress_options(const std::vector<EgressRule>& rules) {
  for (const auto& rule : rules) {
    const char* option = rule.action == EgressAction::allow ? "--allow-net" : "--deny-net";
    if (auto problem = egress_destination_problem(rule.destination))
      throw Error(Errc::invalid_argument, std::string(option) + ": " + *problem);
  }
}

void add_create_options(CLI::App& command, CreateOptions& options) {
  command.add_option("--image", options.image, "image (backend-specific: host, a path, busybox:latest)");
  command.add_option("--from-snapshot", options.from_snapshot,
                     "start from this snapshot (see 'hutch snapshots') instead of an image");
  command.add_option("-e,--env", options.env, "environment variable K=V (repeatable)")
      ->allow_extra_args(false);
  command.add_option("-w,--workdir", options.workdir, "working directory inside the sandbox");
  command.add_option("-u,--user", options.user, "user: name, uid or uid:gid");
  command.add_option("--memory", options.memory, "memory limit, e.g. 512m, 1g, or unlimited (default: 2g)");
  command.add_option("--cpus", options.cpus, "CPU limit in cores, e.g. 1.5");
  command.add_option("--pids", options.pids, "maximum number of processes, or unlimited (default: 1024)");
  command.add_option("--network", options.network, "none, host or bridge");
  add_egress_options(command, options.egress);
  command
      .add_option("-p,--publish", options.publish,
                  "[HOST_IP:]HOST_PORT:SANDBOX_PORT[/tcp|udp]: publish a port of the sandbox on the host "
                  "(bridge network; HOST_IP 127.0.0.1 unless given, HOST_PORT 0 for a free one; see "
                  "'hutch port') (repeatable)")
      ->allow_extra_args(false);
  command
      .add_option("--mount", options.mounts,
                  "type=volume|bind|tmpfs|assets|pointer|backup,src=...,dst=...[,ro]"
                  "[,kind=file|dir][,subpath=...][,idmap=FROM:TO:RANGE][,size=64m] (repeatable)")
      ->allow_extra_args(false);
  command.add_option("--label", options.labels, "label K=V (repeatable)")->allow_extra_args(false);
  command.add_option("--ttl", options.ttl, "the sandbox stops (expires) once this old, e.g. 1h; prune removes it");
  command.add_option("--idle-timeout", options.idle_timeout,
                     "it stops (expires) once no command, file operation or stream used it this long");
  command.add_option("--stop-grace", options.stop_grace,
                     "on stop and rm: SIGTERM, then SIGKILL this long after (0: at once), e.g. 10s");
  command.add_flag("--read-only", options.read_only, "read-only root filesystem");
  command
      .add_option("--file", options.files,
                  "HOST_PATH:SANDBOX_PATH[:MODE]: copy a host file in before the first command, parents "
                  "created, MODE octal (default 644) (repeatable)")
      ->allow_extra_args(false);
  command.add_option("--max-file-bytes", options.max_file_bytes,
                     "largest file a command may write (EFBIG beyond it), e.g. 100m");
  command.add_option("--workspace", options.workspace,
                     "/workspace: ephemeral (default), none, or NAME of a persistent volume (see 'hutch volume')");
  command.add_option("--pool", options.pool,
                     "take a ready sandbox of the service's warm pool NAME ([serve.pools.NAME]; needs --host "
                     "or HUTCH_HOST); only --env, --ttl, --idle-timeout and --file apply to it");
  command.add_option("--entrypoint", options.entrypoint,
                     "program that replaces the image's Entrypoint (its Cmd is then not used); \"\" for none");
}

namespace {

// Runs `parse` and prefixes its error with the option, so the user sees which value was bad.
template <class Parse>
auto parse_option(const std::string& option, Parse&& parse) -> decltype(parse()) {
  try {
    return parse();
  } catch (const Error& error) {
    throw Error(error.code(), option + ": " + error.what());
  }
}

// HOST_PATH:SANDBOX_PATH[:MODE]. The host path is made absolute here: create reads it.
SandboxFile parse_file_option(const std::string& text) {
  const auto first = text.find(':');
  if (first == std::string::npos || first == 0)
    throw Error(Errc::invalid_argument, "'" + text + "' must look like HOST_PATH:SANDBOX_PATH[:MODE]");
  SandboxFile file;
  file.source = std::filesystem::absolute(text.substr(0, first)).lexically_normal().string();
  std::string rest = text.substr(first + 1);
  if (const auto second = rest.find(':'); second != std::string::npos) {
    const std::string mode = rest.substr(second + 1);
    rest.resize(second);
    std::size_t used = 0;
    unsigned long value = 0;
    try {
      value = std::stoul(mode, &used, 8);
    } catch (const std::exception&) {
      used = 0;
    }
    if (mode.empty() || used != mode.size() || value > 07777)
      throw Error(Errc::invalid_argument, "'" + text + "': MODE '" + mode + "' is not an octal mode like 644 or 0755");
    file.mode = static_cast<std::uint32_t>(value);
  }
  file.path = rest;
  return file;
}

// A process count: a whole number from 1 to 4194304 (the kernel's pid_max limit).
std::uint32_t parse_pids(const std::string& text) {
  std::uint32_t pids = 0;
  const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), pids);
  if (error != std::errc() || end != text.data() + text.size() || pids == 0 || pids > 4194304)
    throw Error(Errc::invalid_argument, "expected a number of processes from 1 to 4194304, or unlimited, got '" + text + "'");
  return pids;
}

}  // namespace

namespace {

// --pool: the sandbox is made already, so an option that would shape it is refused.
void refuse_with_pool(const CreateOptions& options) {
  const std::pair<const char*, bool> shaping[] = {
      {"--image", options.image.has_value()},       {"--from-snapshot", options.from_snapshot.has_value()},
      {"--workdir", options.workdir.has_value()},   {"--user", options.user.has_value()},
      {"--memory", options.memory.has_value()},     {"--cpus", options.cpus.has_value()},
      {"--pids", options.pids.has_value()},         {"--network", options.network.has_value()},
      {"--mount", !options.mounts.empty()},         {"--label", !options.labels.empty()},
      {"--stop-grace", options.stop_grace.has_value()}, {"--read-only", options.read_only},
      {"--max-file-bytes", options.max_file_bytes.has_value()}, {"--workspace", options.workspace.has_value()},
      {"--entrypoint", options.entrypoint.has_value()}, {"--allow-net/--deny-net", !options.egress.empty()},
      {"--publish", !options.publish.empty()}};
  for (const auto& [option, given] : shaping)
    if (given)
      throw Error(Errc::invalid_argument, std::string(option) + ": a sandbox of pool '" + *options.pool +
                                              "' is made already; with --pool only --env, --ttl, --idle-timeout and --file apply");
}

}  // namespace

SandboxSpec make_spec(const CreateOptions& options, const Config& config, const std::vector<std::string>& command) {
  if (options.pool) refuse_with_pool(options);
  if (options.image && options.from_snapshot)
    throw Error(Errc::invalid_argument, "--image " + *options.image + " and --from-snapshot " + *options.from_snapshot +
                                            " exclude each other: a sandbox restored from a snapshot has the "
                                            "snapshot's filesystem, not an image's");
  const SandboxSpec& defaults = config.defaults;
  SandboxSpec spec;
  if (options.image) spec.image = *options.image;
  for (const auto& entry : options.env) {
    auto [key, value] = parse_option("--env", [&] { return parse_key_value(entry, "environment variable"); });
    spec.env[key] = value;
  }
  if (options.workdir) spec.workdir = *options.workdir;
  if (options.user) spec.user = *options.user;
  if (options.entrypoint)
    spec.entrypoint = options.entrypoint->empty() ? std::vector<std::string>{} : std::vector<std::string>{*options.entrypoint};
  if (options.memory && is_unlimited(*options.memory))
    spec.limits.memory_unlimited = true;
  else if (options.memory)
    spec.limits.memory_bytes = parse_option("--memory", [&] { return parse_size(*options.memory); });
  if (options.cpus) spec.limits.cpus = *options.cpus;
  if (options.pids && is_unlimited(*options.pids))
    spec.limits.pids_unlimited = true;
  else if (options.pids)
    spec.limits.pids = parse_option("--pids", [&] { return parse_pids(*options.pids); });
  for (const auto& mount : options.mounts)
    spec.mounts.push_back(parse_option("--mount", [&] { return parse_mount(mount); }));
  for (const auto& entry : options.labels) {
    auto [key, value] = parse_option("--label", [&] { return parse_key_value(entry, "label"); });
    spec.labels[key] = value;
  }
  spec.ttl = options.ttl ? parse_option("--ttl", [&] { return parse_duration(*options.ttl); }) : defaults.ttl;
  spec.idle_timeout = options.idle_timeout
                          ? parse_option("--idle-timeout", [&] { return parse_duration(*options.idle_timeout); })
                          : defaults.idle_timeout;
  if (options.stop_grace)
    spec.stop_grace = parse_option("--stop-grace", [&] { return parse_duration(*options.stop_grace); });

  // merge_defaults leaves these to the caller: only the caller knows whether they were given.
  spec.network = options.network
                     ? parse_option("--network", [&] { return parse_network_mode(*options.network); })
                     : defaults.network;
  spec.read_only_root = options.read_only || defaults.read_only_root;
  spec.egress = options.egress;
  for (const auto& port : options.publish)
    spec.ports.push_back(parse_option("--publish", [&] { return parse_port_mapping(port); }));

  for (const auto& file : options.files) spec.files.push_back(parse_option("--file", [&] { return parse_file_option(file); }));
  if (options.max_file_bytes)
    spec.max_file_bytes = parse_option("--max-file-bytes", [&] { return parse_size(*options.max_file_bytes); });
  if (options.workspace) spec.workspace = *options.workspace;

  if (options.pool) spec.labels[kLabelPool] = *options.pool;
  spec = merge_defaults(std::move(spec), defaults);
  // Only when neither the option nor [defaults] image named one does the command choose.
  spec = apply_config_policy(std::move(spec), config, command);
  // Before validate(spec), to name the option: the spec's network is known by now.
  parse_option("--publish", [&] { validate_ports(spec.ports, spec.network); });
  validate(spec);
  return spec;
}

}  // namespace hutch::cli
