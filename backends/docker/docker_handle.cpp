#include "docker_handle.hpp"

#include "egress_network.hpp"

#include "containers.hpp"
#include "create_body.hpp"
#include "docker_process.hpp"
#include "engine_quirks.hpp"
#include "freezer_state.hpp"
#include "engine/query.hpp"
#include "labels.hpp"
#include "sandbox_agent.hpp"
#include "sandbox_dir.hpp"
#include "snapshot_workspace.hpp"

#include "agent/exec_process.hpp"
#include "agent/launch_request.hpp"
#include "agent/loopback_client.hpp"
#include "agent/main_command_files.hpp"

#include <hutch/backend.hpp>
#include <hutch/env_changes.hpp>
#include <hutch/error.hpp>
#include <hutch/image_defaults.hpp>
#include <hutch/spec_json.hpp>
#include <hutch/owner.hpp>
#include <hutch/spec.hpp>

#include <boost/json.hpp>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <charconv>
#include <map>
#include <limits>

namespace hutch::docker {
namespace json = boost::json;
namespace {

constexpr Duration kCommitTimeout = std::chrono::minutes(10);

std::uint64_t number_at(const json::object& object, const char* key) {
  auto* value = object.if_contains(key);
  if (value == nullptr || !value->is_number()) return 0;
  return static_cast<std::uint64_t>(value->to_number<double>());
}

const json::object* object_at(const json::object& object, const char* key) {
  auto* value = object.if_contains(key);
  return value != nullptr && value->is_object() ? &value->as_object() : nullptr;
}

}  // namespace

std::string snapshot_image(const std::string& snapshot_id) { return "hutch-snapshot:" + snapshot_id; }

Stats stats_from_json(const std::string& body) {
  auto value = json::parse(body);
  const auto& root = value.as_object();
  Stats stats;
  const auto* cpu = object_at(root, "cpu_stats");
  const auto* precpu = object_at(root, "precpu_stats");
  if (cpu != nullptr) {
    const auto* usage = object_at(*cpu, "cpu_usage");
    std::uint64_t total = usage ? number_at(*usage, "total_usage") : 0;
    stats.cpu_usage_ns = total;
    if (precpu != nullptr) {
      const auto* pre_usage = object_at(*precpu, "cpu_usage");
      std::uint64_t pre_total = pre_usage ? number_at(*pre_usage, "total_usage") : 0;
      std::uint64_t system = number_at(*cpu, "system_cpu_usage");
      std::uint64_t pre_system = number_at(*precpu, "system_cpu_usage");
      std::uint64_t cpus = number_at(*cpu, "online_cpus");
      if (cpus == 0 && usage != nullptr)
        if (auto* per = usage->if_contains("percpu_usage"); per && per->is_array()) cpus = per->as_array().size();
      if (cpus == 0) cpus = 1;
      if (system > pre_system && total >= pre_total)
        stats.cpu_percent = static_cast<double>(total - pre_total) / static_cast<double>(system - pre_system) *
                            static_cast<double>(cpus) * 100.0;
    }
  }
  if (const auto* memory = object_at(root, "memory_stats")) {
    std::uint64_t usage = number_at(*memory, "usage");
    std::uint64_t cache = 0;
    if (const auto* detail = object_at(*memory, "stats")) {
      // As `docker stats` does: v1 subtracts total_inactive_file, v2 inactive_file.
      cache = number_at(*detail, "total_inactive_file");
      if (cache == 0) cache = number_at(*detail, "inactive_file");
    }
    stats.memory_bytes = usage > cache ? usage - cache : usage;
    if (std::uint64_t limit = number_at(*memory, "limit"); limit != 0) stats.memory_limit_bytes = limit;
  }
  if (const auto* pids = object_at(root, "pids_stats")) stats.pids = static_cast<std::uint32_t>(number_at(*pids, "current"));
  if (const auto* networks = object_at(root, "networks")) {
    std::uint64_t rx = 0;
    std::uint64_t tx = 0;
    for (const auto& [name, interface] : *networks) {
      if (!interface.is_object()) continue;
      rx += number_at(interface.as_object(), "rx_bytes");
      tx += number_at(interface.as_object(), "tx_bytes");
    }
    stats.net_rx_bytes = rx;
    stats.net_tx_bytes = tx;
  }
  return stats;
}

DockerHandle::DockerHandle(std::shared_ptr<Context> context, std::string id, SandboxSpec spec, Labels labels)
    : context_(std::move(context)), id_(std::move(id)), spec_(std::move(spec)), labels_(std::move(labels)),
      exec_user_(spec_.user),
      fs_(context_, id_, [this] { record_file_activity(); }, spec_.user,
          [this](std::vector<std::string> argv) { return run_as_root(std::move(argv)); },
          [this](std::vector<std::string> argv) { return spawn_as_root(std::move(argv)); }) {
  fs_.set_max_file_bytes(spec_.max_file_bytes);
  fs_.set_tmpfs_mounts(tmpfs_mount_points(spec_));
  if (auto dir = labels_.find(label::kAgentDir); dir != labels_.end() && !dir->second.empty()) {
    agent_socket_ = std::filesystem::path(dir->second) / kAgentSocketName;
    main_dir_ = host_only_dir(id_, dir->second);
    // The container itself runs as root (the agent's user): name the sandbox's user explicitly.
    if (auto user = labels_.find(label::kAgentUser); user != labels_.end()) exec_user_ = user->second;
  }
  if (auto defaults = labels_.find(label::kDefaults); defaults != labels_.end() && !defaults->second.empty())
    defaults_ = defaults_from_json(defaults->second);
}

ExecRequest DockerHandle::with_command_argv(const ExecRequest& request) const {
  if (!request.use_entrypoint) return request;
  ExecRequest resolved = request;
  resolved.argv = command_argv(request, defaults_, id_);
  resolved.use_entrypoint = false;
  return resolved;
}

std::filesystem::path DockerHandle::env_file() const { return context_->state_dir / id_ / "env.json"; }

SandboxSpec DockerHandle::spec() const {
  SandboxSpec spec = spec_;
  spec.env = apply_env_changes(std::move(spec.env), read_env_changes(env_file()));
  return spec;
}

void DockerHandle::set_env(const Env& set, const std::vector<std::string>& unset) {
  validate_env_change(set, unset);
  check_alive();
  // A sandbox made by another host has no directory here yet.
  std::filesystem::create_directories(env_file().parent_path());
  update_env_changes(env_file(), set, unset);
}

void DockerHandle::check_alive() const {
  if (destroyed_) throw Error(Errc::state, "sandbox " + id_ + " was destroyed");
}

void DockerHandle::check_alive_and_record_activity() const {
  check_alive();
  record_activity(context_->state_dir / id_);
}

void DockerHandle::record_file_activity() {
  check_alive_and_record_activity();
  // File operations do not pass through the agent (the archive API); commands it sees itself.
  tell_agent_of_activity();
}

void DockerHandle::tell_agent_of_activity() {
  if (agent_socket_)
    if (auto lifetime = read_lifetime(context_->state_dir / id_); lifetime && lifetime->idle_timeout_ms != 0)
      touch_.touch(*agent_socket_, id_);
}

SandboxInfo DockerHandle::info() {
  check_alive();
  auto info = sandbox_info_from_inspect(context_->backend_name,
                                        while_sandbox_exists(id_, [&] { return inspect_container(*context_, id_); }),
                                        context_->state_dir);
  if (info.id.empty()) info.id = id_;
  return info;
}

ExecResult DockerHandle::exec(const ExecRequest& request) {
  check_alive_and_record_activity();
  return run_buffered(request);
}

ExecResult DockerHandle::run_buffered(const ExecRequest& request) {
  if (agent_socket_ && !request.stdin_data) {
    // A buffered exec never waits for input: without stdin data the command reads EOF.
    ExecRequest with_empty_stdin = request;
    with_empty_stdin.stdin_data = std::string();
    return start_command(with_empty_stdin, false)->wait();
  }
  return start_command(request, false)->wait();
}

std::unique_ptr<Process> DockerHandle::spawn(const ExecRequest& request) {
  check_alive_and_record_activity();
  return start_command(request, true);
}

std::unique_ptr<Process> DockerHandle::start_command(const ExecRequest& given, bool attach_stdin) {
  const ExecRequest request = with_command_argv(given);
  return while_sandbox_exists(id_, [&]() -> std::unique_ptr<Process> {
    if (agent_socket_) return start_through_agent(request);
    return DockerProcess::start(context_, id_, request, exec_user_, attach_stdin,
                                env_change_entries(read_env_changes(env_file())));
  });
}

ExecResult DockerHandle::run_as_root(std::vector<std::string> argv) {
  ExecRequest request;
  request.argv = std::move(argv);
  request.user = "0";
  request.timeout = context_->client->request_timeout();
  request.output_limit = 1 << 20;
  return run_buffered(request);
}

std::unique_ptr<Process> DockerHandle::spawn_as_root(std::vector<std::string> argv) {
  ExecRequest request;
  request.argv = std::move(argv);
  request.user = "0";
  request.env["LC_ALL"] = "C";  // tar's messages are matched (tar_in_sandbox.cpp)
  request.timeout = context_->client->request_timeout();
  request.output_limit = 1 << 20;
  return start_command(request, true);
}

pid_t DockerHandle::agent_pid(bool refresh) {
  if (pid_t known = agent_pid_; known != 0 && !refresh) return known;
  auto inspect = inspect_container(*context_, id_);
  const auto& state = inspect.at("State").as_object();
  if (!state.at("Running").as_bool())
    throw stopped_sandbox(id_);
  pid_t pid = static_cast<pid_t>(state.at("Pid").to_number<std::int64_t>());
  agent_pid_ = pid;
  return pid;
}

template <class Send>
decltype(auto) DockerHandle::with_agent_pid(Send&& send) {
  try {
    return send(agent_pid(false));
  } catch (const Error& e) {
    if (e.code() != Errc::permission_denied) throw;
    pid_t before = agent_pid_;
    if (agent_pid(true) == before) throw;
    return send(agent_pid_.load());
  }
}

agent::wire::ExecMessage DockerHandle::agent_message(const ExecRequest& request) const {
  agent::wire::ExecMessage message;
  message.argv = request.argv;
  message.env = env_change_entries(read_env_changes(env_file()));
  for (const auto& [key, value] : request.env) message.env.push_back(key + "=" + value);
  message.cwd = request.cwd;  // empty: the agent's, which is the container's working directory
  message.user = request.user.empty() ? exec_user_ : request.user;
  return message;
}

void DockerHandle::check_not_paused(pid_t agent) {
  if (paused_) throw Error(Errc::state, "sandbox " + id_ + " is paused; unpause it first");
  // Paused by another process (`docker pause`, another hutch): the frozen agent would take the
  // request and answer only after the unpause. The freezer file is read in microseconds; the
  // daemon is asked only when it cannot be read from here.
  auto frozen = process_frozen(agent);
  if (frozen ? *frozen : container_paused(*context_, id_))
    throw paused_elsewhere("", id_);
}

std::unique_ptr<Process> DockerHandle::start_through_agent(const ExecRequest& request) {
  validate(request);
  auto message = agent_message(request);
  return with_agent_pid([&](pid_t pid) {
    check_not_paused(pid);
    return agent::ExecProcess::start(*agent_socket_, id_, message, request, pid);
  });
}

const std::filesystem::path& DockerHandle::main_command_dir() const {
  if (!agent_socket_)
    throw Error(Errc::unsupported, "docker: sandbox " + id_ +
                                       " has no agent (agent = \"off\", a TCP endpoint, or created so): launch and logs "
                                       "need the agent as the container's PID 1");
  if (!main_dir_)
    throw Error(Errc::unsupported, "docker: sandbox " + id_ +
                                       " was made by an older hutch whose agent directory is visible inside the container; "
                                       "launch and logs need a sandbox created by this version");
  return *main_dir_;
}

bool DockerHandle::container_running() {
  auto inspect = inspect_container(*context_, id_);
  return inspect.at("State").as_object().at("Running").as_bool();
}

MainCommandInfo DockerHandle::launch(const ExecRequest& request) {
  check_alive_and_record_activity();
  validate_launch(request);
  if (request.tty) throw_unsupported(backend_name(), "launch with a tty");
  const auto& dir = main_command_dir();
  auto message = agent_message(with_command_argv(request));
  message.launch = true;
  message.stop_grace_ms = static_cast<std::uint32_t>(stop_grace(*context_, spec_).count());
  message.log_limit = context_->config.log_limit;
  return while_sandbox_exists(id_, [&] {
    return with_agent_pid([&](pid_t pid) {
      check_not_paused(pid);
      auto started = agent::launch_main_command(*agent_socket_, id_, dir, message, pid);
      agent::save_launch_request(dir, message, id_);
      return started;
    });
  });
}

void DockerHandle::logs(const std::function<bool(std::string_view)>& sink, bool follow) {
  check_alive();
  const auto& dir = main_command_dir();
  agent::stream_main_log(dir, id_, sink, follow, [&] {
    // Called between reads while following: an attached stream counts as activity.
    tell_agent_of_activity();
    auto main = agent::read_main_command(dir, while_sandbox_exists(id_, [&] { return container_running(); }));
    return main && main->state == MainCommandState::running;
  });
}

void DockerHandle::post_simple(const std::string& verb, const std::string& what) {
  check_alive();
  Request request;
  request.method = Method::post;
  request.target = Target("/containers").segment(id_).str() + "/" + verb;
  request.what = what + " sandbox " + id_;
  while_sandbox_exists(id_, [&] { return context_->client->call(request); });
}

void DockerHandle::pause() {
  if (const auto& problem = context_->cgroup_support->problem(*context_->client))
    throw Error(Errc::unsupported, "docker: cannot pause sandbox " + id_ + ": " + *problem);
  post_simple("pause", "pause");
  paused_ = true;
}

void DockerHandle::unpause() {
  post_simple("unpause", "unpause");
  paused_ = false;
}

void DockerHandle::stop() {
  check_alive();
  const auto dir = context_->state_dir / id_;
  // Recorded first: a stop cut short still reads as one, and resume leaves it stopped.
  mark_stopped(dir, id_, true);
  auto inspect = while_sandbox_exists(id_, [&] { return inspect_container(*context_, id_); });
  const auto& state = inspect.at("State").as_object();
  if (state.at("Running").as_bool()) stop_container(*context_, id_, spec_, state.at("Paused").as_bool());
  paused_ = false;
  agent_pid_ = 0;
}

void DockerHandle::start() {
  check_alive();
  const auto dir = context_->state_dir / id_;
  auto inspect = while_sandbox_exists(id_, [&] { return inspect_container(*context_, id_); });
  if (inspect.at("State").as_object().at("Running").as_bool()) return;
  mark_stopped(dir, id_, false);
  clear_expiry(dir);
  auto lifetime = read_lifetime(dir);
  // A ttl that has passed counts again from this start.
  if (lifetime && lifetime->ttl_deadline_ms != 0 && spec_.ttl) {
    const auto now = std::chrono::duration_cast<std::chrono::milliseconds>(
        std::chrono::system_clock::now().time_since_epoch());
    if (lifetime->ttl_deadline_ms <= now.count()) {
      lifetime->ttl_deadline_ms = (now + *spec_.ttl).count();
      write_lifetime(dir, id_, *lifetime);
    }
  }
  start_container(*context_, id_, labels_);
  agent_pid_ = 0;
  // The agent starts with the lifetimes of the container's create; these are today's.
  if (agent_socket_ && lifetime)
    with_agent_pid([&](pid_t pid) {
      agent::send_lifetime(*agent_socket_, id_, *lifetime, pid);
      return 0;
    });
  if (main_dir_)
    if (auto message = agent::load_launch_request(*main_dir_))
      with_agent_pid([&](pid_t pid) { return agent::launch_main_command(*agent_socket_, id_, *main_dir_, *message, pid); });
}

void DockerHandle::set_egress(const std::vector<EgressRule>& rules) {
  check_alive();
  if (auto problem = egress_enforcement_problem(*context_))
    throw Error(Errc::unsupported, "sandbox " + id_ + ": set_egress: egress rules cannot be enforced: " + *problem);
  try {
    validate_egress(rules, spec_.network);
  } catch (const Error& error) {
    throw Error(error.code(), "sandbox " + id_ + ": set_egress: " + error.what());
  }
  // Not on hutch's network: validate_egress let "no rules" alone pass, and there is nothing to
  // change (no lease, no chain).
  if (spec_.network != NetworkMode::bridge) {
    spec_.egress = rules;
    return;
  }
  // The lease, chain and policy file live from create to destroy, across stop and start (the
  // container keeps its fixed address): the rules apply to a stopped sandbox when it starts.
  EgressNetwork(*context_).replace_egress(id_, rules);
  spec_.egress = rules;
}

void DockerHandle::set_lifetime(const LifetimeUpdate& update) {
  check_alive();
  const auto dir = context_->state_dir / id_;
  auto lifetime = read_lifetime(dir).value_or(agent::LifetimeSettings{});
  const auto now =
      std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch());
  if (update.ttl) lifetime.ttl_deadline_ms = (now + *update.ttl).count();
  if (update.idle_timeout) lifetime.idle_timeout_ms = update.idle_timeout->count();
  write_lifetime(dir, id_, lifetime);
  if (agent_socket_ && container_running())
    with_agent_pid([&](pid_t pid) {
      agent::send_lifetime(*agent_socket_, id_, lifetime, pid);
      return 0;
    });
}

Stats DockerHandle::stats() {
  check_alive();
  Request request;
  // stream=false waits for a second sample so the CPU percentage can be computed.
  request.target = Target("/containers").segment(id_).str() + "/stats?stream=false";
  request.what = "read the stats of sandbox " + id_;
  return stats_from_json(while_sandbox_exists(id_, [&] { return context_->client->call(request); }).body);
}

int DockerHandle::connect_port(std::uint16_t port) {
  check_alive_and_record_activity();
  if (port == 0) throw Error(Errc::invalid_argument, "sandbox " + id_ + ": connect_port: port 0 is not 1-65535");
  if (!agent_socket_)
    throw Error(Errc::unsupported, "docker: sandbox " + id_ +
                                       " has no agent (agent = \"off\", a TCP endpoint, or created so): connect_port "
                                       "needs the agent as the container's PID 1");
  return while_sandbox_exists(id_, [&] {
    return with_agent_pid([&](pid_t pid) {
      check_not_paused(pid);
      return agent::request_loopback_connection(*agent_socket_, id_, port, pid).release();
    });
  });
}

namespace {

// The engine's bindings of one "<port>/<protocol>" key (NetworkSettings.Ports): which one is
// `mapping`'s. The engine writes an address it binds on all of them as "0.0.0.0" or "::" (and
// Podman sometimes as ""); a fixed host port must match too.
const json::object* binding_of(const PortMapping& mapping, const json::array& bindings, std::vector<bool>& taken) {
  auto address_of = [](const json::object& binding) {
    const auto* ip = binding.if_contains("HostIp");
    std::string address = ip && ip->is_string() ? std::string(ip->as_string()) : "";
    return address.empty() ? std::string("0.0.0.0") : address;
  };
  auto port_of = [](const json::object& binding) {
    const auto* port = binding.if_contains("HostPort");
    return port && port->is_string() ? std::string(port->as_string()) : "";
  };
  const std::string wanted_port = mapping.host_port == 0 ? "" : std::to_string(mapping.host_port);
  for (int pass = 0; pass < 2; ++pass)
    for (std::size_t i = 0; i < bindings.size(); ++i) {
      if (taken[i] || !bindings[i].is_object()) continue;
      const auto& binding = bindings[i].as_object();
      if (!wanted_port.empty() && port_of(binding) != wanted_port) continue;
      // First the binding on the address asked for, then (an engine that rewrote it) any.
      if (pass == 0 && address_of(binding) != mapping.host_ip) continue;
      taken[i] = true;
      return &binding;
    }
  return nullptr;
}

}  // namespace

std::vector<PortBinding> DockerHandle::ports() {
  check_alive();
  auto inspect = while_sandbox_exists(id_, [&] { return inspect_container(*context_, id_); });
  std::vector<PortBinding> out;
  const auto* settings = object_at(inspect, "NetworkSettings");
  const auto* ports = settings ? object_at(*settings, "Ports") : nullptr;
  if (ports == nullptr) return out;
  // Per key, which of the engine's bindings a mapping has claimed already.
  std::map<std::string, std::vector<bool>> taken;
  for (const auto& mapping : spec_.ports) {
    const std::string key = std::to_string(mapping.sandbox_port) + "/" + to_string(mapping.protocol);
    const auto* bindings = ports->if_contains(key);
    if (bindings == nullptr || !bindings->is_array()) continue;  // stopped: nothing bound
    auto& claimed = taken[key];
    claimed.resize(bindings->as_array().size());
    const json::object* binding = binding_of(mapping, bindings->as_array(), claimed);
    if (binding == nullptr) continue;
    PortBinding port;
    port.sandbox_port = mapping.sandbox_port;
    port.protocol = mapping.protocol;
    const auto* ip = binding->if_contains("HostIp");
    port.host_address = ip && ip->is_string() && !ip->as_string().empty() ? std::string(ip->as_string()) : mapping.host_ip;
    const auto* host_port = binding->if_contains("HostPort");
    unsigned number = 0;
    if (host_port && host_port->is_string()) {
      const std::string text(host_port->as_string());
      std::from_chars(text.data(), text.data() + text.size(), number);
    }
    if (number == 0 || number > 65535) continue;  // not bound (yet)
    port.host_port = static_cast<std::uint16_t>(number);
    out.push_back(std::move(port));
  }
  return out;
}

void DockerHandle::destroy() {
  if (destroyed_.exchange(true)) return;
  try {
    remove_sandbox(*context_, id_);
  } catch (...) {
    destroyed_ = false;  // let the caller retry
    throw;
  }
}

std::string DockerHandle::commit(const std::string& repository, const std::string& tag, const Labels& labels) {
  check_alive();
  json::object config;
  json::object label_object;
  for (const auto& [key, value] : labels) label_object[key] = value;
  config["Labels"] = std::move(label_object);
  // The engine pauses the container for a consistent copy where it can freeze it at all.
  const bool can_pause = !context_->cgroup_support->problem(*context_->client);
  Target target =
      Target("/commit").add("container", id_).add("repo", repository).add("tag", tag).add("pause", can_pause);
  if (commit_ignores_body_labels(context_->client->engine()))
    for (const auto& [key, value] : labels) target.add("changes", label_instruction(key, value));
  Request request;
  request.method = Method::post;
  request.target = target.str();
  request.body = json::serialize(config);
  request.what = "commit sandbox " + id_ + " as " + repository + ":" + tag;
  request.timeout = kCommitTimeout;
  while_sandbox_exists(id_, [&] { return context_->client->call(request); });
  return repository + ":" + tag;
}

SnapshotInfo DockerHandle::snapshot(const std::string& label_text) {
  check_alive();
  SnapshotInfo info;
  info.id = "snap-" + random_hex(12);
  info.label = label_text;
  info.source_sandbox = id_;
  info.created = std::chrono::system_clock::now();
  const std::string image = commit("hutch-snapshot", info.id,
         {{kLabelManaged, "true"},
          {kLabelOwner, current_owner()},
          {label::kKind, "snapshot"},
          {label::kSnapshotLabel, label_text},
          {label::kSource, id_},
          {label::kCreated, std::to_string(std::chrono::duration_cast<std::chrono::milliseconds>(
                                               info.created.time_since_epoch())
                                               .count())}});
  // A commit leaves volumes out: the workspace is kept beside the image (snapshot_workspace.hpp).
  if (auto workspace = labels_.find(label::kWorkspaceVolume); workspace != labels_.end() && !workspace->second.empty()) {
    try {
      save_snapshot_workspace(*context_, id_, image, info.id);
    } catch (...) {
      remove_image(*context_, image);
      throw;
    }
  }
  return info;
}

std::shared_ptr<ForkFactory> DockerHandle::fork_factory() { return std::make_shared<DockerForkFactory>(context_); }

std::shared_ptr<Handle> DockerForkFactory::fork(Handle& source_handle) {
  auto* source = dynamic_cast<DockerHandle*>(&source_handle);
  if (source == nullptr)
    throw Error(Errc::invalid_argument, "docker fork: sandbox " + source_handle.id() + " is not a docker sandbox");
  const std::string new_id = "hutch-" + random_hex(12);
  std::string image = source->commit("hutch-fork", new_id,
                                     {{kLabelManaged, "true"},
                                      {kLabelOwner, current_owner()},
                                      {kLabelId, new_id},
                                      {label::kKind, "fork"},
                                      {label::kSource, source->id()}});
  std::shared_ptr<DockerHandle> copy;
  try {
    CreateOptions options;
    options.image = image;
    options.id = new_id;
    options.extra_labels = {{label::kForkImage, image}, {label::kSource, source->id()}};
    copy = create_sandbox(context_, source->spec(), options);
  } catch (...) {
    Request remove;
    remove.method = Method::delete_;
    remove.target = Target("/images").segment(image).str();
    remove.what = "remove fork image " + image;
    try {
      context_->client->call(remove);
    } catch (const std::exception& e) {
      context_->logger->warn("docker: {}", e.what());
    }
    throw;
  }
  try {
    // A commit does not include volumes: stream the workspace's content across.
    auto workspace = source->labels().find(label::kWorkspaceVolume);
    auto copy_workspace = copy->labels().find(label::kWorkspaceVolume);
    if (workspace != source->labels().end() && !workspace->second.empty() &&
        copy_workspace != copy->labels().end() && !copy_workspace->second.empty())
      copy_between_containers(*context_, source->id(), kWorkspaceTarget, copy->id(), "/",
                              "copy the workspace of sandbox " + source->id() + " into fork " + copy->id());
  } catch (...) {
    try {
      copy->destroy();
    } catch (const std::exception& e) {
      context_->logger->error("docker: removing the half-made fork {} failed: {}", copy->id(), e.what());
    }
    throw;
  }
  return copy;
}

}  // namespace hutch::docker
