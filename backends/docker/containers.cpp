#include "containers.hpp"

#include "create_body.hpp"
#include "docker_handle.hpp"
#include "egress_network.hpp"
#include "engine/query.hpp"
#include "engine_quirks.hpp"
#include "images.hpp"
#include "podman_default_ulimits.hpp"
#include "labels.hpp"
#include "sandbox_agent.hpp"
#include "sandbox_dir.hpp"

#include "agent/main_command_files.hpp"

#include <hutch/env_filter.hpp>
#include <hutch/error.hpp>
#include <hutch/image_defaults.hpp>
#include <hutch/owner.hpp>
#include <hutch/path_policy.hpp>
#include <hutch/spec.hpp>
#include <hutch/sandbox_files.hpp>
#include <hutch/spec_json.hpp>
#include <hutch/workspace.hpp>

#include <boost/json.hpp>

#include <string_view>
#include <spdlog/spdlog.h>

#include <atomic>
#include <ctime>
#include <thread>

namespace hutch::docker {
namespace json = boost::json;
namespace {

std::string container_path(const std::string& id) { return Target("/containers").segment(id).str(); }

void ignore_missing(const std::function<void()>& call) {
  try {
    call();
  } catch (const Error& e) {
    if (e.code() != Errc::not_found) throw;
  }
}

void wait_until_removed(Context& context, const std::string& id, const Error& conflict) {
  auto give_up = Clock::now() + context.client->request_timeout();
  for (;;) {
    try {
      inspect_container(context, id);
    } catch (const Error& e) {
      if (e.code() == Errc::not_found) return;
      throw;
    }
    if (Clock::now() > give_up) throw conflict;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
}

// DELETE <collection>/<name>. Gone already is fine; still in use (409) is logged at `level`
// and kept, for a later prune. Returns false for one kept.
bool delete_unless_in_use(Context& context, const char* collection, const std::string& name, const char* kind,
                          spdlog::level::level_enum level) {
  Request request;
  request.method = Method::delete_;
  request.target = Target(collection).segment(name).str();
  request.what = std::string("remove ") + kind + " '" + name + "'";
  try {
    context.client->call(request);
  } catch (const Error& e) {
    if (e.code() == Errc::not_found) return true;
    // dockerd answers a second DELETE of an image another client removes at that moment
    // (two prunes at once) with a 500 naming the image id it no longer finds: gone as well.
    if (e.code() == Errc::backend && std::string_view(e.what()).find("unrecognized image ID") != std::string_view::npos)
      return true;
    if (e.code() == Errc::state) {
      context.logger->log(level, "docker: {}", e.what());
      return false;
    }
    throw;
  }
  return true;
}

// The workspace's mode and, for a persistent one, its volume: SandboxSpec::workspace, or the
// older ways to ask: the spec label hutch-workspace (with hutch-workspace-name), then
// [backends.docker] workspace.
std::pair<WorkspaceMode, std::string> workspace_for(const Context& context, const SandboxSpec& spec,
                                                    const std::string& id) {
  WorkspaceMode mode = context.config.workspace;
  if (auto chosen = spec.labels.find(label::kUserWorkspace); chosen != spec.labels.end()) {
    try {
      mode = parse_workspace_mode(chosen->second);
    } catch (const Error& e) {
      throw Error(Errc::invalid_argument, std::string("label ") + label::kUserWorkspace + ": " + e.what());
    }
  } else if (!spec.workspace.empty() || workspace_of(spec).kind == WorkspaceKind::none) {
    const Workspace workspace = workspace_of(spec);
    if (workspace.kind == WorkspaceKind::named) return {WorkspaceMode::persistent, workspace.volume};
    mode = workspace.kind == WorkspaceKind::none ? WorkspaceMode::none : WorkspaceMode::ephemeral;
  }
  std::string name = "hutch-ws-" + id;
  if (mode == WorkspaceMode::persistent)
    if (auto chosen = spec.labels.find(label::kUserWorkspaceName); chosen != spec.labels.end()) name = chosen->second;
  return {mode, name};
}


// The spec recorded in the container's labels; the default one when unreadable.
SandboxSpec spec_of(const Labels& labels) {
  if (auto spec = labels.find(label::kSpec); spec != labels.end()) {
    try {
      return spec_from_json(spec->second);
    } catch (const Error&) {
    }
  }
  return {};
}

}  // namespace

Duration stop_grace(const Context& context, const SandboxSpec& spec) {
  return spec.stop_grace.value_or(context.config.stop_grace);
}

void stop_container(Context& context, const std::string& id, const SandboxSpec& spec, bool paused) {
  if (paused) {
    Request unpause;
    unpause.method = Method::post;
    unpause.target = container_path(id) + "/unpause";
    unpause.what = "unpause sandbox " + id + " before stopping it";
    ignore_missing([&] { context.client->call(unpause); });
  }
  const Duration grace = stop_grace(context, spec);
  Request stop;
  stop.method = Method::post;
  stop.what = "stop sandbox " + id;
  if (grace.count() == 0) {
    stop.target = Target(container_path(id) + "/kill").add("signal", "KILL").str();
    try {
      context.client->call(stop);
    } catch (const Error& e) {
      // Not running (any more) is what was asked for.
      if (e.code() != Errc::not_found && e.code() != Errc::state) throw;
    }
    return;
  }
  // Whole seconds for the Engine, rounded up, and one more: the agent sends its own SIGKILL
  // at the end of the grace and exits once everything is gone; docker's is the backstop (and
  // the only one without the agent, where SIGTERM reaches PID 1 alone).
  const auto seconds = (grace.count() + 999) / 1000 + 1;
  stop.target = Target(container_path(id) + "/stop").add("t", static_cast<long long>(seconds)).str();
  stop.timeout = std::chrono::seconds(seconds) + context.client->request_timeout();
  ignore_missing([&] { context.client->call(stop); });
}

void start_container(Context& context, const std::string& id, const Labels& labels) {
  Request start;
  start.method = Method::post;
  start.target = container_path(id) + "/start";
  start.what = "start sandbox " + id;
  context.client->call(start);
  if (auto dir = labels.find(label::kAgentDir); dir != labels.end() && !dir->second.empty())
    wait_for_agent(context, id, dir->second);
}

json::object inspect_container(Context& context, const std::string& id) {
  Request request;
  request.target = container_path(id) + "/json";
  request.what = "inspect sandbox " + id;
  auto value = context.client->call_json(request);
  if (!value.is_object())
    throw Error(Errc::backend, "docker: " + request.what + ": the daemon answered something that is not an object");
  return std::move(value.as_object());
}

bool container_paused(Context& context, const std::string& id) {
  try {
    const auto* paused = inspect_container(context, id).at("State").as_object().if_contains("Paused");
    return paused != nullptr && paused->is_bool() && paused->as_bool();
  } catch (const Error& e) {
    if (e.code() == Errc::not_found) return false;
    throw;
  }
}

Error paused_elsewhere(const std::string& what, const std::string& id) {
  return Error(Errc::state, (what.empty() ? "" : what + ": ") + "sandbox " + id +
                                " is paused (by `docker pause` or another process); unpause it first");
}

Error stopped_sandbox(const std::string& id) {
  return Error(Errc::state, "sandbox " + id + " is stopped (not running); start it with `hutch start " + id +
                                "` or remove it with `hutch rm " + id + "`");
}

std::optional<Error> state_refusal(Context& context, const std::string& id, const std::string& what) {
  boost::json::object state;
  try {
    state = inspect_container(context, id).at("State").as_object();
  } catch (const Error& e) {
    if (e.code() == Errc::not_found) return std::nullopt;
    throw;
  }
  const auto* paused = state.if_contains("Paused");
  if (paused != nullptr && paused->is_bool() && paused->as_bool()) return paused_elsewhere(what, id);
  const auto* running = state.if_contains("Running");
  if (running != nullptr && running->is_bool() && !running->as_bool()) return stopped_sandbox(id);
  return std::nullopt;
}

bool remove_image(Context& context, const std::string& reference) {
  // In use: a fork of the fork still uses it; prune retries later.
  return delete_unless_in_use(context, "/images", reference, "image", spdlog::level::info);
}

void remove_volume(Context& context, const std::string& name) {
  // In use: another container still mounts it.
  delete_unless_in_use(context, "/volumes", name, "volume", spdlog::level::warn);
}

std::string create_volume(Context& context, const std::string& name, const Labels& labels) {
  json::object body{{"Name", name}};
  json::object volume_labels;
  for (const auto& [key, value] : labels) volume_labels[key] = value;
  body["Labels"] = std::move(volume_labels);
  Request request;
  request.method = Method::post;
  request.target = "/volumes/create";
  request.body = json::serialize(body);
  request.what = "create volume '" + name + "'";
  context.client->call(request);
  return name;
}

void release_egress(Context& context, const std::string& id) {
  if (auto failure = EgressNetwork(context).release(id); !failure.empty())
    context.logger->warn("docker: sandbox {}: its egress network: {} (prune tries again)", id, failure);
}

std::shared_ptr<DockerHandle> create_sandbox(const std::shared_ptr<Context>& context, const SandboxSpec& requested,
                                             const CreateOptions& options) {
  validate(requested);
  // stage_files gives a file its owner with the sandbox's own chown, and a docker sandbox's
  // root has no CAP_CHOWN (CapDrop ALL): refused before anything is made, not half-staged.
  for (std::size_t i = 0; i < requested.files.size(); ++i)
    if (!requested.files[i].owner.empty())
      throw Error(Errc::unsupported, "backend 'docker' does not support files[" + std::to_string(i) + "].owner ('" +
                                         requested.files[i].owner +
                                         "'): its sandboxes drop CAP_CHOWN; stage the file without an owner and "
                                         "give it a mode, or use the subcontainer backend");
  SandboxSpec spec = requested;
  spec.limits = enforceable_limits(spec.limits, context->cgroup_support->problem(*context->client));
  const std::string id = options.id.value_or("hutch-" + random_hex(12));

  spec.image = options.image ? *options.image : ensure_image(*context, context->config.image_map.resolve(spec.image));

  for (auto& mount : spec.mounts)
    if (mount.type == MountType::bind || mount.type == MountType::assets)
      mount.source = check_host_path_allowed(mount.source, context->config.bind_allow,
                                             "[backends.docker] bind_allow",
                                             "sandbox " + id + ": " + to_string(mount.type) + " mount on '" + mount.target + "'");

  // Bridge sandboxes join hutch's network, where the egress policy holds (egress_network.hpp).
  std::optional<EgressNetwork> egress_network;
  if (spec.network == NetworkMode::bridge) {
    if (auto problem = egress_enforcement_problem(*context)) {
      if (!spec.egress.empty())
        throw Error(Errc::unsupported, "sandbox " + id + ": egress rules (--allow-net, --deny-net) cannot be enforced: " +
                                           *problem + "; use the subcontainer backend, or run hutch as root next to the engine");
      static std::atomic_flag warned = ATOMIC_FLAG_INIT;
      if (!warned.test_and_set())
        context->logger->warn("docker: bridge sandboxes get the engine's own network, without hutch's default egress "
                              "policy (metadata and private ranges stay reachable): {}", *problem);
    } else {
      egress_network.emplace(*context);
    }
  }

  CreatePlan plan;
  plan.image = spec.image;
  plan.env = filter_host_env(EnvPolicy{context->config.env_passthrough, context->config.env_block},
                             current_environment());
  for (const auto& [key, value] : spec.env) plan.env[key] = value;
  plan.cap_add = context->config.cap_add;
  plan.seccomp_profile_json = context->config.seccomp_profile_json;
  plan.host_gateway = context->config.host_gateway;

  const std::string owner = current_owner();
  Labels labels = spec.labels;
  labels[kLabelManaged] = "true";
  labels[kLabelId] = id;
  labels[kLabelOwner] = owner;
  const std::int64_t created_ms =
      std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch()).count();
  labels[label::kCreated] = std::to_string(created_ms);
  agent::LifetimeSettings lifetime;
  if (spec.ttl) lifetime.ttl_deadline_ms = created_ms + spec.ttl->count();
  if (spec.idle_timeout) lifetime.idle_timeout_ms = spec.idle_timeout->count();
  for (const auto& [key, value] : options.extra_labels) labels[key] = value;
  std::optional<std::string> inherited_agent_user;
  std::optional<ImageDefaults> inherited_defaults;
  if (options.image) {
    // A committed image carries its source container's labels, and a container inherits its
    // image's labels. Labels cannot be removed, so blank those this sandbox does not set.
    Request inspect;
    inspect.target = Target("/images").segment(*options.image).str() + "/json";
    inspect.what = "inspect image '" + *options.image + "'";
    auto image = context->client->call_json(inspect).as_object();
    if (auto* config = image.if_contains("Config"); config && config->is_object())
      if (auto* inherited = config->as_object().if_contains("Labels"); inherited && inherited->is_object()) {
        for (const auto& [key, value] : inherited->as_object()) labels.try_emplace(std::string(key), "");
        // The image of an agent sandbox says "0:0" (the agent's user); its commands' user is here.
        if (auto* user = inherited->as_object().if_contains(label::kAgentUser); user && user->is_string())
          inherited_agent_user = std::string(user->as_string());
        // Its Entrypoint and Cmd are the agent's: the source's defaults are in a label.
        if (auto* found = inherited->as_object().if_contains(label::kDefaults); found && found->is_string())
          inherited_defaults = defaults_from_json(std::string(found->as_string()));
      }
  }

  const ImageDefaults image = inherited_defaults ? *inherited_defaults : image_defaults(*context, spec.image);
  auto [workspace, name] = workspace_for(*context, spec, id);
  bool workspace_taken = false;
  for (const auto& mount : spec.mounts) workspace_taken |= mount.target == kWorkspaceTarget;
  if (workspace_taken) workspace = WorkspaceMode::none;
  labels[label::kWorkspace] = to_string(workspace);
  // The working directory (workspace.hpp): -w or [defaults] workdir, then the image's
  // WorkingDir (the engine's own default), then /workspace when there is one.
  if (spec.workdir.empty() && workspace != WorkspaceMode::none && image.workdir.empty())
    spec.workdir = kWorkspaceTarget;
  std::optional<std::string> created_volume;  // removed again if the create fails
  if (workspace != WorkspaceMode::none) {
    plan.workspace_volume = name;
    labels[label::kWorkspaceVolume] = name;
    // An ephemeral volume also carries the spec's labels, so a prune narrowed by labels finds
    // it when its sandbox is gone (a persistent one outlives the sandbox that named it).
    Labels volume_labels = workspace == WorkspaceMode::ephemeral ? spec.labels : Labels{};
    volume_labels[kLabelManaged] = "true";
    volume_labels[kLabelOwner] = owner;
    volume_labels[label::kWorkspace] = to_string(workspace);
    if (workspace == WorkspaceMode::ephemeral) volume_labels[kLabelId] = id;
    create_volume(*context, name, volume_labels);
    if (workspace == WorkspaceMode::ephemeral) created_volume = name;
  }
  std::optional<std::filesystem::path> sandbox_dir;  // removed again if the create fails
  bool container_created = false;
  bool egress_attached = false;
  try {
    // The host directory: the activity marker, and with the agent its socket.
    sandbox_dir = make_sandbox_dir(context->state_dir, id, context->agent_binary.has_value());
    write_lifetime(*sandbox_dir, id, lifetime);
    ImageDefaults defaults = resolve_defaults(image, spec);
    for (const auto& [key, value] : plan.env) defaults.env[key] = value;
    if (defaults.workdir.empty()) defaults.workdir = "/";
    labels[label::kDefaults] = defaults_to_json(defaults);
    if (context->agent_binary) {
      const std::string user = !spec.user.empty()      ? spec.user
                               : inherited_agent_user ? *inherited_agent_user
                                                      : defaults.user;
      AgentPlan agent;
      agent.entrypoint =
          agent_entrypoint(user, context->config.cap_add, !context->config.seccomp_profile_json.has_value(),
                           stop_grace(*context, spec), lifetime);
      agent.capabilities = kAgentCapabilities;
      agent.binary = context->agent_binary->string();
      agent.run_dir = agent_run_dir(*sandbox_dir).string();
      labels[label::kAgentDir] = agent.run_dir;
      plan.agent = std::move(agent);
      labels[label::kAgentUser] = user;
    }
    labels[label::kSpec] = spec_to_json(without_file_contents(spec));
    if (spec.max_file_bytes && context->engine_is_local && named_ulimits_replace_defaults(context->client->engine()))
      plan.default_ulimits = podman_default_ulimits(podman_containers_conf_files());
    plan.labels = labels;
    plan.spec = spec;

    if (egress_network) {
      // Before the container exists: its rules are in place before it runs anything.
      plan.egress = EgressPlan{egress_network->network(), egress_network->attach(id, spec.egress), egress_network->gateway()};
      egress_attached = true;
    }
    Request create;
    create.method = Method::post;
    create.target = Target("/containers/create").add("name", id).str();
    create.body = json::serialize(make_create_body(plan));
    create.what = "create sandbox " + id + " from image '" + spec.image + "'";
    context->client->call(create);
    container_created = true;

    start_container(*context, id, labels);
    if (plan.agent) {
      if (!labels[label::kAgentUser].empty())
        check_agent_user(*context, id, agent_run_dir(*sandbox_dir), labels[label::kAgentUser]);
    }
    return std::make_shared<DockerHandle>(context, id, without_file_contents(spec), labels);
  } catch (...) {
    try {
      if (container_created) {
        Request remove;
        remove.method = Method::delete_;
        remove.target = container_path(id) + "?force=true&v=true";
        remove.what = "remove half-created sandbox " + id;
        ignore_missing([&] { context->client->call(remove); });
      }
      if (created_volume) remove_volume(*context, *created_volume);
      if (sandbox_dir) remove_sandbox_dir(*context, id, *sandbox_dir);
      if (egress_attached)
        if (auto failure = egress_network->release(id); !failure.empty())
          context->logger->error("docker: releasing the egress network of half-created {} failed: {}", id, failure);
    } catch (const std::exception& cleanup) {
      context->logger->error("docker: cleaning up after a failed create of {} failed too: {}", id, cleanup.what());
    }
    throw;
  }
}

void remove_sandbox(Context& context, const std::string& id) {
  json::object inspect;
  try {
    inspect = inspect_container(context, id);
  } catch (const Error& e) {
    if (e.code() != Errc::not_found) throw;
    release_egress(context, id);
    return;
  }
  Labels labels;
  if (auto* config = inspect.if_contains("Config"); config && config->is_object())
    if (auto* found = config->as_object().if_contains("Labels"); found && found->is_object())
      for (const auto& [key, value] : found->as_object())
        if (value.is_string()) labels[std::string(key)] = std::string(value.as_string());
  const auto& state = inspect.at("State").as_object();
  bool paused = state.at("Paused").as_bool();
  bool running = state.at("Running").as_bool();

  if (running) stop_container(context, id, spec_of(labels), paused);
  Request remove;
  remove.method = Method::delete_;
  remove.target = container_path(id) + "?force=true&v=true";
  remove.what = "remove sandbox " + id;
  try {
    context.client->call(remove);
  } catch (const Error& e) {
    if (e.code() == Errc::not_found) {
    } else if (e.code() == Errc::state) {
      // With force, a conflict means another process removes it right now (two prunes, a
      // prune and a destroy): wait for that removal instead of failing, then tidy up the rest.
      wait_until_removed(context, id, e);
    } else {
      throw;
    }
  }

  if (auto mode = labels.find(label::kWorkspace); mode != labels.end() && mode->second == "ephemeral")
    if (auto volume = labels.find(label::kWorkspaceVolume); volume != labels.end() && !volume->second.empty())
      remove_volume(context, volume->second);
  if (auto image = labels.find(label::kForkImage); image != labels.end() && !image->second.empty())
    remove_image(context, image->second);
  remove_sandbox_dir(context, id, context.state_dir / id);
  release_egress(context, id);
  if (auto dir = labels.find(label::kAgentDir); dir != labels.end() && !dir->second.empty())
    remove_sandbox_dir(context, id, host_only_dir(id, dir->second).value_or(dir->second));
  // A snapshot deleted while this sandbox ran on it was only untagged; now nothing uses it.
  if (auto* image_id = inspect.if_contains("Image"); image_id && image_id->is_string()) {
    std::string id_text(image_id->as_string());
    Request image_inspect;
    image_inspect.target = Target("/images").segment(id_text).str() + "/json";
    image_inspect.what = "inspect the image of removed sandbox " + id;
    try {
      auto image = context.client->call_json(image_inspect).as_object();
      bool managed = false;
      if (auto* config = image.if_contains("Config"); config && config->is_object())
        if (auto* image_labels = config->as_object().if_contains("Labels"); image_labels && image_labels->is_object())
          if (auto* flag = image_labels->as_object().if_contains(kLabelManaged); flag && flag->is_string())
            managed = flag->as_string() == "true";
      auto* tags = image.if_contains("RepoTags");
      bool untagged = tags == nullptr || !tags->is_array() || tags->as_array().empty();
      if (managed && untagged) remove_image(context, id_text);
    } catch (const Error& e) {
      if (e.code() != Errc::not_found) throw;
    }
  }
}

SandboxInfo sandbox_info_from_inspect(const std::string& backend_name, const json::object& inspect,
                                      const std::filesystem::path& state_dir) {
  SandboxInfo info;
  info.backend = backend_name;
  const json::object* labels = nullptr;
  if (auto* config = inspect.if_contains("Config"); config && config->is_object()) {
    labels = config->as_object().if_contains("Labels") ? &config->as_object().at("Labels").as_object() : nullptr;
    if (auto* image = config->as_object().if_contains("Image"); image && image->is_string())
      info.image = std::string(image->as_string());
  } else if (auto* list_labels = inspect.if_contains("Labels"); list_labels && list_labels->is_object()) {
    labels = &list_labels->as_object();
    if (auto* image = inspect.if_contains("Image"); image && image->is_string()) info.image = std::string(image->as_string());
  }
  if (labels != nullptr)
    for (const auto& [key, value] : *labels)
      if (value.is_string()) info.labels[std::string(key)] = std::string(value.as_string());
  // Labels blanked when created from a committed image (see create_sandbox) are not its own.
  std::erase_if(info.labels, [](const auto& entry) { return entry.second.empty(); });
  info.id = info.labels.count(kLabelId) ? info.labels[kLabelId] : std::string();
  std::string status;
  if (auto* state = inspect.if_contains("State")) {
    if (state->is_object())
      status = std::string(state->as_object().at("Status").as_string());
    else if (state->is_string())
      status = std::string(state->as_string());
  }
  if (status == "running")
    info.state = SandboxState::running;
  else if (status == "paused")
    info.state = SandboxState::paused;
  else if (status == "created")
    info.state = SandboxState::creating;
  else if (status == "exited" || status == "dead" || status == "removing")
    info.state = SandboxState::stopped;
  if (auto created = info.labels.find(label::kCreated); created != info.labels.end()) {
    try {
      info.created = std::chrono::system_clock::time_point(std::chrono::milliseconds(std::stoll(created->second)));
    } catch (...) {
    }
  }
  if (auto spec = info.labels.find(label::kSpec); spec != info.labels.end()) {
    try {
      info.spec = spec_from_json(spec->second);
    } catch (const Error&) {
    }
  }
  if (auto defaults = info.labels.find(label::kDefaults); defaults != info.labels.end()) {
    try {
      info.defaults = defaults_from_json(defaults->second);
    } catch (const Error&) {
    }
  }
  // The main command (launch), from its status file in the host-only sandbox directory.
  if (auto dir = info.labels.find(label::kAgentDir); dir != info.labels.end() && !info.id.empty())
    if (auto main_dir = host_only_dir(info.id, dir->second))
      info.main_command = agent::read_main_command(
          *main_dir, info.state == SandboxState::running || info.state == SandboxState::paused);
  // The lifetimes and how a stopped sandbox stopped, from the host directory.
  std::optional<agent::LifetimeSettings> lifetime;
  if (!info.id.empty()) {
    const auto host_dir = state_dir / info.id;
    if (info.state == SandboxState::stopped && !stopped_on_purpose(host_dir) && expired_by_agent(host_dir))
      info.state = SandboxState::expired;
    lifetime = read_lifetime(host_dir);
  }
  if (lifetime) {
    if (lifetime->ttl_deadline_ms != 0)
      info.expires_at = std::chrono::system_clock::time_point(std::chrono::milliseconds(lifetime->ttl_deadline_ms));
  } else if (info.spec.ttl && info.created.time_since_epoch().count() != 0) {
    info.expires_at = info.created + *info.spec.ttl;  // made before the host directory held them
  }
  return info;
}

}  // namespace hutch::docker
