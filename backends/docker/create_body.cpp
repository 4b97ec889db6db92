#include "create_body.hpp"

#include "sandbox_agent.hpp"

#include <hutch/error.hpp>
#include <hutch/ports.hpp>

#include <boost/json.hpp>

#include <algorithm>
#include <cmath>

namespace hutch::docker {
namespace json = boost::json;

// On docker stop's SIGTERM (docker-init, PID 1, passes it on to this shell only): SIGTERM to
// every other process of the container (kill -1 spares PID 1 and the caller), then stay until
// they are gone, so that they may finish (docker's SIGKILL after the grace is the limit).
const std::vector<std::string> kKeepAliveCommand = {
    "/bin/sh", "-c",
    "trap 'kill -TERM -1 2>/dev/null; while kill -0 -1 2>/dev/null; do sleep 1 & wait $!; done; exit 0' TERM INT; "
    "while :; do sleep 3600 & wait $!; done"};

namespace {

// The writable places a read-only root keeps, as tmpfs mounts with Docker's Tmpfs options.
const std::pair<const char*, const char*> kReadOnlyRootTmpfs[] = {
    {"/tmp", "rw,nosuid,nodev,mode=1777"},
    {"/var/tmp", "rw,nosuid,nodev,mode=1777"},
    {"/run", "rw,nosuid,nodev,mode=755"},
};

[[noreturn]] void refuse(const std::string& field, const std::string& why) {
  throw Error(Errc::invalid_argument, "docker backend: " + field + ": " + why);
}

json::object make_mount(const Mount& mount, std::size_t index) {
  const std::string field = "mounts[" + std::to_string(index) + "] (" + mount.target + ")";
  if (mount.idmap) refuse(field, "id-mapped mounts are not supported by the docker backend");
  json::object out;
  out["Target"] = mount.target;
  bool read_only = mount.read_only;
  switch (mount.type) {
    case MountType::volume:
    case MountType::pointer:
      if (!mount.subpath.empty()) refuse(field, "a volume subpath needs Engine API 1.45; not supported");
      out["Type"] = "volume";
      out["Source"] = mount.source;
      break;
    case MountType::assets:
      read_only = true;
      [[fallthrough]];
    case MountType::bind: {
      std::string source = mount.source;
      if (!mount.subpath.empty()) source += "/" + mount.subpath;
      out["Type"] = "bind";
      out["Source"] = source;
      out["BindOptions"] = json::object{{"Propagation", "rprivate"}};
      break;
    }
    case MountType::tmpfs: {
      out["Type"] = "tmpfs";
      // The mode dockerd gives a tmpfs by default, said explicitly: Podman 4.3 takes a missing
      // Mode as 0 (mode=000: nobody without CAP_DAC_OVERRIDE, root in a sandbox included, can
      // use the mount). Both engines write the number as octal mount data ("mode=1777").
      json::object options{{"Mode", 01777}};
      if (mount.tmpfs_size_bytes) options["SizeBytes"] = *mount.tmpfs_size_bytes;
      out["TmpfsOptions"] = std::move(options);
      break;
    }
    case MountType::backup:
      refuse(field, "backup mounts are not supported by the docker backend");
  }
  out["ReadOnly"] = read_only;
  return out;
}

const char* network_mode(NetworkMode mode) {
  switch (mode) {
    case NetworkMode::none: return "none";
    case NetworkMode::host: return "host";
    case NetworkMode::bridge: return "bridge";
  }
  return "none";
}

}  // namespace

std::vector<std::string> tmpfs_mount_points(const SandboxSpec& spec) {
  std::vector<std::string> points;
  for (const auto& mount : spec.mounts)
    if (mount.type == MountType::tmpfs) points.push_back(mount.target);
  if (spec.read_only_root) {
    for (const auto& [path, options] : kReadOnlyRootTmpfs)
      if (std::none_of(spec.mounts.begin(), spec.mounts.end(), [&](const Mount& mount) { return mount.target == path; }))
        points.emplace_back(path);
  }
  std::sort(points.begin(), points.end());
  return points;
}

json::object make_create_body(const CreatePlan& plan) {
  const SandboxSpec& spec = plan.spec;
  json::object body;
  body["Image"] = plan.image;
  json::array env;
  for (const auto& [key, value] : plan.env) env.emplace_back(key + "=" + value);
  body["Env"] = std::move(env);
  if (!spec.workdir.empty()) body["WorkingDir"] = spec.workdir;
  if (!spec.user.empty()) body["User"] = spec.user;
  json::object labels;
  for (const auto& [key, value] : plan.labels) labels[key] = value;
  body["Labels"] = std::move(labels);
  json::array entrypoint;
  for (const auto& arg : plan.agent ? plan.agent->entrypoint : kKeepAliveCommand) entrypoint.emplace_back(arg);
  body["Entrypoint"] = std::move(entrypoint);
  // The agent switches to the sandbox's user per command; it must start as root for that.
  if (plan.agent) body["User"] = "0:0";
  body["Cmd"] = json::array{};
  body["AttachStdin"] = false;
  body["AttachStdout"] = false;
  body["AttachStderr"] = false;
  body["Tty"] = false;
  body["OpenStdin"] = false;
  body["StopSignal"] = "SIGTERM";

  json::object host;
  host["Init"] = !plan.agent;  // the agent reaps as PID 1 itself
  host["NetworkMode"] = network_mode(spec.network);
  host["CapDrop"] = json::array{"ALL"};
  json::array cap_add;
  for (const auto& cap : plan.cap_add) cap_add.emplace_back(cap);
  if (plan.agent)
    for (const auto& cap : plan.agent->capabilities)
      if (std::find(plan.cap_add.begin(), plan.cap_add.end(), cap) == plan.cap_add.end()) cap_add.emplace_back(cap);
  host["CapAdd"] = std::move(cap_add);
  json::array security{"no-new-privileges"};
  if (plan.seccomp_profile_json) security.emplace_back("seccomp=" + *plan.seccomp_profile_json);
  host["SecurityOpt"] = std::move(security);
  if (spec.limits.memory_bytes) {
    host["Memory"] = *spec.limits.memory_bytes;
    host["MemorySwap"] = *spec.limits.memory_bytes;  // no swap beyond the limit
  }
  if (spec.limits.cpus) {
    if (!(*spec.limits.cpus > 0)) refuse("limits.cpus", "must be positive");
    host["NanoCpus"] = static_cast<std::int64_t>(std::llround(*spec.limits.cpus * 1e9));
  }
  if (spec.limits.pids) host["PidsLimit"] = *spec.limits.pids;
  // A write beyond it fails with EFBIG (the agent ignores SIGXFSZ for every command).
  if (spec.max_file_bytes) {
    json::array ulimits{json::object{{"Name", "fsize"}, {"Soft", *spec.max_file_bytes}, {"Hard", *spec.max_file_bytes}}};
    for (const auto& limit : plan.default_ulimits)
      if (limit.name != "fsize")
        ulimits.push_back(json::object{{"Name", limit.name}, {"Soft", limit.soft}, {"Hard", limit.hard}});
    host["Ulimits"] = std::move(ulimits);
  }

  json::array mounts;
  for (std::size_t i = 0; i < spec.mounts.size(); ++i) mounts.push_back(make_mount(spec.mounts[i], i));
  if (plan.workspace_volume) {
    mounts.push_back(json::object{{"Type", "volume"},
                                  {"Source", *plan.workspace_volume},
                                  {"Target", kWorkspaceTarget},
                                  {"ReadOnly", false}});
  }
  if (plan.agent) {
    auto bind = [](const std::string& source, const char* target, bool read_only) {
      return json::object{{"Type", "bind"},
                          {"Source", source},
                          {"Target", target},
                          {"ReadOnly", read_only},
                          {"BindOptions", json::object{{"Propagation", "rprivate"}}}};
    };
    mounts.push_back(bind(plan.agent->binary, kAgentInContainer, true));
    mounts.push_back(bind(plan.agent->run_dir, kAgentRunDirInContainer, false));
  }
  host["Mounts"] = std::move(mounts);

  if (spec.read_only_root) {
    host["ReadonlyRootfs"] = true;
    json::object tmpfs;
    for (const auto& [path, options] : kReadOnlyRootTmpfs) tmpfs[path] = options;
    for (const auto& mount : spec.mounts) tmpfs.erase(mount.target);  // the spec's mount wins
    host["Tmpfs"] = std::move(tmpfs);
  }

  // Enforced only on hutch's network (egress_network.hpp): refused rather than ignored.
  if (!spec.egress.empty() && !plan.egress)
    throw Error(Errc::unsupported, "docker backend: egress: egress rules (--allow-net, --deny-net) need the "
                                   "sandbox on hutch's network (network \"bridge\", a local rootful engine, hutch as root)");
  if (plan.egress) {
    host["NetworkMode"] = plan.egress->network;
    host["Dns"] = json::array{plan.egress->dns};
    body["NetworkingConfig"] = json::object{
        {"EndpointsConfig",
         json::object{{plan.egress->network,
                       json::object{{"IPAMConfig", json::object{{"IPv4Address", plan.egress->address}}}}}}}};
  }
  if (!spec.ports.empty()) {
    if (spec.network != NetworkMode::bridge)
      refuse("ports", "publishing ports needs network = \"bridge\" (the sandbox has \"" +
                          std::string(network_mode(spec.network)) + "\")");
    // docker -p: "<port>/<protocol>" keys; several host bindings of one sandbox port share a key.
    json::object exposed;
    json::object bindings;
    for (const auto& port : spec.ports) {
      if (auto problem = port_mapping_problem(port)) refuse("ports", *problem);
      std::string key = std::to_string(port.sandbox_port) + "/" + to_string(port.protocol);
      exposed[key] = json::object{};
      // HostPort "" asks the engine for a free port; it keeps it while the container runs.
      const std::string host_port = port.host_port == 0 ? "" : std::to_string(port.host_port);
      json::value& list = bindings[key];
      if (!list.is_array()) list = json::array{};
      list.as_array().push_back(json::object{{"HostIp", port.host_ip}, {"HostPort", host_port}});
    }
    body["ExposedPorts"] = std::move(exposed);
    host["PortBindings"] = std::move(bindings);
  }
  if (plan.host_gateway) host["ExtraHosts"] = json::array{"host.docker.internal:host-gateway"};

  body["HostConfig"] = std::move(host);
  body["NetworkDisabled"] = spec.network == NetworkMode::none;
  return body;
}

}  // namespace hutch::docker
