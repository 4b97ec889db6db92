#include "docker_backend.hpp"

#include "containers.hpp"
#include "docker_fs.hpp"
#include "docker_handle.hpp"
#include "egress_network.hpp"
#include "engine_quirks.hpp"
#include "engine/query.hpp"
#include "image_verbs.hpp"
#include "images.hpp"
#include "labels.hpp"
#include "sandbox_agent.hpp"
#include "sandbox_dir.hpp"
#include "security_warnings.hpp"
#include "snapshot_workspace.hpp"
#include "volumes.hpp"

#include <hutch/error.hpp>
#include <hutch/owner.hpp>
#include <hutch/registry.hpp>
#include <hutch/sandbox_files.hpp>

#include <boost/json.hpp>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <set>

namespace hutch::docker {
namespace json = boost::json;
namespace {

bool owner_gone(const Labels& labels) {
  auto owner = labels.find(kLabelOwner);
  return owner == labels.end() || !owner_alive(owner->second);
}

}  // namespace

DockerBackend::DockerBackend(std::string name, DockerConfig config, std::shared_ptr<spdlog::logger> logger)
    : context_(std::make_shared<Context>()) {
  context_->backend_name = std::move(name);
  ClientOptions options;
  options.endpoint = choose_endpoint(config.endpoint);
  options.request_timeout = config.request_timeout;
  options.api_version = config.api_version;
  context_->agent_binary = choose_agent_binary(config, options.endpoint);
  context_->engine_is_local = options.endpoint.kind == Endpoint::Kind::unix_socket;
  context_->engine_may_be_rootless = engine_may_be_rootless(options.endpoint);
  context_->cgroup_support = std::make_shared<EngineCgroupSupport>(context_->engine_may_be_rootless);
  context_->state_dir = docker_state_dir(config);
  context_->client = std::make_shared<EngineClient>(std::move(options));
  context_->config = std::move(config);
  context_->logger = std::move(logger);
}

Capabilities DockerBackend::capabilities() const {
  Capabilities caps;
  caps.fork = true;
  caps.snapshot = true;
  caps.pause = !context_->cgroup_support->problem(*context_->client);  // the freezer is a cgroup's
  caps.stdin = true;
  caps.ports = true;
  caps.tty = true;
  caps.stats = true;
  caps.persistent = true;
  // The main command runs under the agent, which a sandbox has when the plugin found one.
  caps.launch = context_->agent_binary.has_value();
  caps.set_env = true;
  caps.volumes = true;
  caps.stop = true;
  caps.lifetimes = context_->agent_binary.has_value();  // the agent holds them
  caps.connect_port = context_->agent_binary.has_value();  // the agent connects, inside the sandbox
  caps.network_modes = {NetworkMode::none, NetworkMode::bridge, NetworkMode::host};
  caps.set_egress = !egress_enforcement_problem(*context_);
  caps.mount_types = {MountType::volume, MountType::bind, MountType::tmpfs, MountType::assets, MountType::pointer};
  return caps;
}

std::vector<std::string> DockerBackend::warnings() {
  Request request;
  request.target = "/info";
  request.what = "read the engine's settings (/info)";
  const json::value info = context_->client->call_json(request);
  if (!info.is_object()) throw Error(Errc::backend, "docker: the engine's /info answer is not a JSON object");
  auto warnings = security_warnings(info.as_object(), context_->agent_binary.has_value(),
                                    context_->config.seccomp_profile_json.has_value());
  if (auto problem = cgroup_problem(info.as_object()))
    warnings.push_back("memory, pids and CPU limits are not enforced: " + *problem +
                       "; sandboxes are made without the default ones (memory 2g, pids 1024), "
                       "--memory/--pids/--cpus are refused, pause is unsupported and snapshots and forks "
                       "copy a running sandbox");
  if (!context_->agent_binary)
    warnings.push_back("lifetimes need `hutch prune`: without the agent (agent = \"off\", or a remote engine) no "
                       "process in a sandbox holds its ttl and idle_timeout, and a sandbox past them ends only when "
                       "prune removes it (an idle timeout also counts a command that is still running as idle)");
  if (context_->client->endpoint_name().starts_with("tcp://"))
    warnings.push_back("the engine is remote (" + context_->client->endpoint_name() +
                       "): hutch-agent cannot run in its containers (hutch reaches the agent through a socket file "
                       "on this machine), so sandboxes there lose what the agent gives: its seccomp filter on top of "
                       "Docker's profile, lifetimes held inside the sandbox (prune applies them) and the main command "
                       "(launch, logs); bind mounts name paths on the engine's host, not this one");
  if (auto problem = egress_enforcement_problem(*context_))
    warnings.push_back("bridge sandboxes get the engine's own network without hutch's default egress policy "
                       "(cloud metadata, private ranges and the host stay reachable) and egress rules are refused: " +
                       *problem);
  return warnings;
}

namespace {

// The engine's archive API costs a round trip or more per Fs call: the whole manifest goes in
// one request (owners are refused by create_sandbox).
void stage_in_one_archive(Handle& sandbox, const std::vector<SandboxFile>& files) {
  static_cast<DockerFs&>(sandbox.fs()).stage_files(files);
}

}  // namespace

std::shared_ptr<Handle> DockerBackend::create(const SandboxSpec& spec) {
  return stage_files_or_destroy(create_sandbox(context_, spec), spec.files, stage_in_one_archive);
}

std::vector<VolumeInfo> DockerBackend::volumes() { return list_persistent_volumes(*context_); }

void DockerBackend::remove_volume(const std::string& name) { delete_persistent_volume(*context_, name); }

std::shared_ptr<Handle> DockerBackend::resume(const std::string& id) {
  if (id.empty()) throw Error(Errc::invalid_argument, "docker: the sandbox id is empty");
  json::object inspect;
  try {
    inspect = inspect_container(*context_, id);
  } catch (const Error& e) {
    if (e.code() == Errc::not_found) throw Error(Errc::not_found, "docker: no sandbox " + id + " (" + e.what() + ")");
    throw;
  }
  auto info = sandbox_info_from_inspect(context_->backend_name, inspect, context_->state_dir);
  if (info.labels[kLabelManaged] != "true")
    throw Error(Errc::not_found, "docker: container " + id + " exists but is not a hutch sandbox (no hutch.managed label)");
  // A container that stopped by itself (a daemon or host restart) is started again; one
  // stopped on purpose (Handle::stop) stays stopped until Handle::start, and one being removed
  // (by another process's destroy or prune) or dead is never started.
  const std::string sandbox_id = info.id.empty() ? id : info.id;
  const auto* state = inspect.if_contains("State");
  const auto* status = state != nullptr && state->is_object() ? state->as_object().if_contains("Status") : nullptr;
  const bool going = status != nullptr && status->is_string() && (*status == "removing" || *status == "dead");
  if (going) throw Error(Errc::not_found, "docker: sandbox " + sandbox_id + " is being removed");
  if ((info.state == SandboxState::stopped || info.state == SandboxState::creating) &&
      !stopped_on_purpose(context_->state_dir / sandbox_id))
    start_container(*context_, id, info.labels);
  return std::make_shared<DockerHandle>(context_, sandbox_id, info.spec, info.labels);
}

std::vector<SandboxInfo> DockerBackend::list(const Filter& filter) {
  Request request;
  request.target =
      Target("/containers/json").add("all", true).add("filters", filters_json({{"label", label_filters(filter.labels)}})).str();
  request.what = "list sandboxes";
  auto value = context_->client->call_json(request);
  std::vector<SandboxInfo> out;
  for (const auto& item : value.as_array()) out.push_back(sandbox_info_from_inspect(context_->backend_name, item.as_object(), context_->state_dir));
  std::sort(out.begin(), out.end(), [](const SandboxInfo& a, const SandboxInfo& b) { return a.id < b.id; });
  return out;
}

void DockerBackend::destroy(const std::string& id) { remove_sandbox(*context_, id); }

std::vector<std::string> DockerBackend::prune(const Filter& filter) {
  std::vector<std::string> removed;
  auto now = std::chrono::system_clock::now();
  std::set<std::string> existing;
  for (const auto& info : list(filter)) {
    existing.insert(info.id);
    const auto dir = context_->state_dir / info.id;
    bool expired = info.state == SandboxState::expired || (info.expires_at && *info.expires_at < now);
    // A running agent holds the idle timeout itself (it sees the commands that run); else idle
    // since the last exec or Fs call (sandbox_dir.hpp), or since its creation.
    const bool agent_holds_it = info.state == SandboxState::running && info.labels.count(label::kAgentDir) != 0;
    auto lifetime = read_lifetime(dir);
    std::optional<Duration> idle_timeout = info.spec.idle_timeout;
    if (lifetime) idle_timeout = lifetime->idle_timeout_ms != 0 ? std::optional<Duration>(lifetime->idle_timeout_ms) : std::nullopt;
    auto last_used = last_activity(dir).value_or(info.created);
    bool idle = !agent_holds_it && idle_timeout && last_used.time_since_epoch().count() != 0 &&
                last_used + *idle_timeout < now;
    if (filter.all || owner_gone(info.labels) || expired || idle) {
      remove_sandbox(*context_, info.id);
      removed.push_back(info.id);
    }
  }
  // Host directories and snapshot workspaces are not narrowed by labels: only a prune of
  // everything looks at them.
  // Leases on hutch's network whose container is gone (removed above, or a creator killed
  // mid-create), whatever the filter: every container is looked at, so none still in use goes.
  if (!egress_enforcement_problem(*context_)) {
    std::set<std::string> containers;
    for (const auto& info : list({})) containers.insert(info.id);
    EgressNetwork(*context_).reclaim([&](const std::string& id) { return containers.count(id) != 0; });
  }
  if (filter.labels.empty()) {
    remove_orphan_sandbox_dirs(existing);
    prune_snapshot_workspaces(*context_, filter.all);
  }
  // Ephemeral workspace volumes whose sandbox is gone (e.g. a create interrupted by a crash).
  // They carry their sandbox's spec labels, and fork and snapshot images their source's (a
  // commit keeps the container's labels), so a filter by labels narrows these too.
  auto volume_labels = label_filters(filter.labels);
  volume_labels.push_back(std::string(label::kWorkspace) + "=ephemeral");
  for (const auto& item : volumes_with_labels(*context_, volume_labels, "list hutch volumes")) {
    const auto& volume = item.as_object();
    Labels labels = labels_of(volume.if_contains("Labels"));
    if (!filter.all && !owner_gone(labels)) continue;
    docker::remove_volume(*context_, std::string(volume.at("Name").as_string()));
  }
  // Fork images of owners that are gone. Snapshots outlive the process that took them (as
  // `hutch snapshot` does, then exits): only delete_snapshot or prune --all removes them.
  auto image_list = images_with_labels(*context_, label_filters(filter.labels), "list hutch images");
  for (const auto& item : image_list) {
    const auto& image = item.as_object();
    Labels labels = labels_of(image.if_contains("Labels"));
    if (!filter.all) {
      const auto kind = labels.find(label::kKind);
      if (kind != labels.end() && kind->second == "snapshot") continue;
      if (!owner_gone(labels)) continue;
    }
    std::vector<std::string> references;
    if (auto* tags = image.if_contains("RepoTags"); tags && tags->is_array())
      for (const auto& tag : tags->as_array())
        if (tag.is_string() && tag.as_string() != "<none>:<none>") references.emplace_back(tag.as_string());
    if (references.empty()) references.emplace_back(image.at("Id").as_string());
    for (const auto& reference : references) docker::remove_image(*context_, reference);  // one still used stays
  }
  return removed;
}

void DockerBackend::remove_orphan_sandbox_dirs(const std::set<std::string>& existing) {
  // A directory is made before its container: one younger than this may be a create in
  // progress in another process.
  constexpr auto kCreateGrace = std::chrono::minutes(1);
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator(context_->state_dir, ec)) {
    std::string id = entry.path().filename().string();
    if (!id.starts_with("hutch-") || existing.count(id) != 0 || !entry.is_directory(ec)) continue;
    auto modified = std::filesystem::last_write_time(entry.path(), ec);
    if (ec || std::filesystem::file_time_type::clock::now() - modified < kCreateGrace) continue;
    remove_sandbox_dir(*context_, id, entry.path());
  }
}

std::shared_ptr<Handle> DockerBackend::restore(const std::string& snapshot_id, const SandboxSpec& overrides) {
  std::string image = snapshot_image(snapshot_id);
  if (!image_exists(*context_, image)) throw Error(Errc::not_found, "docker: no snapshot " + snapshot_id);
  CreateOptions options;
  options.image = image;
  options.extra_labels = {{label::kSource, snapshot_id}};
  auto sandbox = create_sandbox(context_, overrides, options);
  try {
    if (auto workspace = sandbox->labels().find(label::kWorkspaceVolume);
        workspace != sandbox->labels().end() && !workspace->second.empty())
      restore_snapshot_workspace(*context_, image, snapshot_id, sandbox->id());
  } catch (...) {
    try {
      sandbox->destroy();
    } catch (const std::exception& e) {
      context_->logger->error("docker: removing the half-restored sandbox {} failed: {}", sandbox->id(), e.what());
    }
    throw;
  }
  return stage_files_or_destroy(sandbox, overrides.files, stage_in_one_archive);
}

std::vector<SnapshotInfo> DockerBackend::snapshots() {
  auto images = images_with_labels(
      *context_, {std::string(label::kKind) + "=snapshot", std::string(kLabelManaged) + "=true"}, "list snapshots");
  const EngineIdentity engine = context_->client->engine();
  std::vector<SnapshotInfo> out;
  for (const auto& item : images) {
    const auto& image = item.as_object();
    Labels labels = labels_of(image.if_contains("Labels"));
    auto* tags = image.if_contains("RepoTags");
    if (tags == nullptr || !tags->is_array()) continue;
    for (const auto& tag : tags->as_array()) {
      std::string reference = short_image_name(std::string(tag.as_string()), engine);
      if (!reference.starts_with("hutch-snapshot:")) continue;
      SnapshotInfo info;
      info.id = reference.substr(std::string("hutch-snapshot:").size());
      info.label = labels[label::kSnapshotLabel];
      info.source_sandbox = labels[label::kSource];
      info.created = std::chrono::system_clock::from_time_t(static_cast<std::time_t>(image.at("Created").to_number<std::int64_t>()));
      out.push_back(std::move(info));
    }
  }
  std::sort(out.begin(), out.end(), [](const SnapshotInfo& a, const SnapshotInfo& b) { return a.id < b.id; });
  return out;
}

void DockerBackend::delete_snapshot(const std::string& snapshot_id) {
  delete_snapshot_image(snapshot_id);
  remove_snapshot_workspace(*context_, snapshot_id);
}

void DockerBackend::delete_snapshot_image(const std::string& snapshot_id) {
  const std::string reference = snapshot_image(snapshot_id);
  const std::string what = "delete snapshot " + snapshot_id;
  if (!forced_image_delete_removes_containers(context_->client->engine())) {
    Request request;
    request.method = Method::delete_;
    // force: sandboxes restored from the snapshot keep running on the untagged image; prune
    // removes it once they are gone.
    request.target = Target("/images").segment(reference).str() + "?force=true";
    request.what = what;
    context_->client->call(request);
    return;
  }
  // The same outcome on Podman: untag (every tag of the snapshot's own image), then delete the
  // image unless a sandbox restored from it still runs (409; removed with that sandbox).
  Request inspect;
  inspect.target = Target("/images").segment(reference).str() + "/json";
  inspect.what = what;
  std::string image_id(context_->client->call_json(inspect).as_object().at("Id").as_string());
  Request untag;
  untag.method = Method::post;
  untag.target = Target("/libpod/images").segment(reference).str() + "/untag";
  untag.what = what + " (untag)";
  context_->client->call(untag);
  Request remove;
  remove.method = Method::delete_;
  remove.target = Target("/images").segment(image_id).str();
  remove.what = what;
  try {
    context_->client->call(remove);
  } catch (const Error& e) {
    if (e.code() != Errc::state) throw;
  }
}

std::string DockerBackend::pull_image(const std::string& image, const std::function<void(const PullProgress&)>& progress) {
  parse_image_reference(image);  // a malformed name is refused before the engine is asked
  return docker::pull_image(*context_, image, progress);
}
std::vector<ImageInfo> DockerBackend::images() { return list_engine_images(*context_); }
ImageInfo DockerBackend::inspect_image(const std::string& image) { return inspect_engine_image(*context_, image); }
void DockerBackend::remove_image(const std::string& image) { remove_engine_image(*context_, image); }
std::vector<std::string> DockerBackend::prune_images() { return prune_engine_images(*context_); }
std::string DockerBackend::import_image(const std::string& path, const std::string& name) {
  return import_engine_image(*context_, path, name);
}

std::shared_ptr<SandboxBackend> make_docker_backend(const PluginContext& plugin_context) {
  DockerConfig config = DockerConfig::from_table(plugin_context.config, [&](const std::string& why) { plugin_context.logger->warn("{}", why); });
  config.state_dir = plugin_context.state_dir;
  config.use_image_settings(plugin_context.images);
  return std::make_shared<DockerBackend>(plugin_context.name.empty() ? "docker" : plugin_context.name, std::move(config),
                                         plugin_context.logger);
}

}  // namespace hutch::docker
