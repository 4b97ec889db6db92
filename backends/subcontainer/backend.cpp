#include "backend.hpp"

#include "cgroup.hpp"

#include "ephemeral_dir.hpp"
#include "handle.hpp"
#include "images_admin.hpp"
#include "lifecycle.hpp"
#include "orphan_cgroups.hpp"
#include "sandbox_record.hpp"
#include "subordinate_ids.hpp"
#include "volumes_admin.hpp"

#include <hutch/error.hpp>
#include <hutch/owner.hpp>
#include <hutch/sandbox_files.hpp>

#include <spdlog/spdlog.h>

#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>

#include <algorithm>
#include <filesystem>

namespace hutch::subcontainer {
namespace fs = std::filesystem;
namespace {

bool valid_id(const std::string& id) {
  return !id.empty() && id.size() <= 64 && id.find_first_not_of("0123456789abcdef") == std::string::npos;
}

bool labels_match(const Labels& have, const Labels& want) {
  return std::all_of(want.begin(), want.end(), [&](const auto& entry) {
    auto it = have.find(entry.first);
    return it != have.end() && it->second == entry.second;
  });
}

// Why `record` should be pruned, or empty to keep it.
std::string prune_reason(const SandboxRecord& record, const fs::path& record_file, const Filter& filter) {
  if (filter.all) return "all";
  // A sandbox stopped on purpose is kept by the same rules as a running one.
  if (!record.stopped && (record.leader_pid == 0 || !leader_alive(record))) return "leader gone";
  if (!owner_alive(record.owner)) return "owner gone";
  auto now = std::chrono::system_clock::now();
  if (record.ttl_deadline_ms != 0 && now > std::chrono::system_clock::time_point(std::chrono::milliseconds(record.ttl_deadline_ms)))
    return "ttl passed";
  // A running sandbox's leader holds its idle timeout (it sees the commands that run): only a
  // stopped one is judged here, by its last activity the record's mtime says.
  if (record.idle_timeout_ms != 0 && !leader_alive(record)) {
    std::error_code error;
    auto last = fs::last_write_time(record_file, error);
    auto idle = fs::file_time_type::clock::now() - last;
    if (!error && idle > std::chrono::milliseconds(record.idle_timeout_ms)) return "idle timeout passed";
  }
  return {};
}

}  // namespace

std::shared_ptr<Runtime> make_runtime(BackendConfig config, std::shared_ptr<spdlog::logger> log) {
  auto runtime = std::make_shared<Runtime>();
  runtime->rootless = ::geteuid() != 0;
  OwnershipShift shift;
  if (runtime->rootless) {
    runtime->caller_uid = ::geteuid();
    runtime->caller_gid = ::getegid();
    runtime->delegated_cgroups = SandboxCgroup::delegated_base().has_value();
    runtime->pasta = std::make_unique<network::PastaNetwork>(
        network::PastaSettings{config.pasta, config.pasta_helper, config.bridge.upstream_dns});
  } else {
    runtime->id_ranges =
        std::make_unique<IdRangeRegistry>(config.id_ranges_dir, config.uid_base, config.uid_count, config.uid_ranges);
    runtime->network = std::make_unique<network::BridgeNetwork>(config.bridge, config.state_root);
    const IdRange store = runtime->id_ranges->store_range();
    const std::string what = "[backends." + config.name + "] uid_base/uid_count/uid_ranges";
    for (const auto& file : {config.subuid_file, config.subgid_file}) {
      try {
        register_subordinate_ids(file, kSubordinateIdsName, store.first, runtime->id_ranges->block_size(), what);
      } catch (const Error& e) {
        // An overlap is refused; a file that cannot be written (a read-only /etc) only leaves
        // the block unannounced, which the user should know about.
        if (e.code() != Errc::io) throw;
        if (log)
          log->warn("subcontainer: could not register hutch's host ids in {} ({}); useradd may hand them "
                    "to a new user, who could then map them", file.string(), e.what());
      }
    }
    shift = {store.first, store.count};
  }
  runtime->images = std::make_unique<ImageStore>(config.image_store, log, shift);
  runtime->puller = std::make_unique<ImagePuller>(*runtime->images, config.image_settings, log);
  runtime->config = std::move(config);
  runtime->log = std::move(log);
  return runtime;
}

std::shared_ptr<SandboxBackend> make_subcontainer_backend(const PluginContext& context) {
  return std::make_shared<SubcontainerBackend>(make_runtime(read_backend_config(context), context.logger));
}

Capabilities SubcontainerBackend::capabilities() const {
  Capabilities caps;
  caps.fork = true;
  caps.snapshot = true;
  const bool has_cgroups = !runtime_->rootless || runtime_->delegated_cgroups;
  caps.pause = has_cgroups;  // needs a freezer
  caps.stdin = true;
  // Bridge networking: as root, or rootless through pasta.
  const bool bridge = runtime_->network != nullptr || (runtime_->pasta && runtime_->pasta->available());
  caps.ports = bridge;  // published on a bridge network only
  caps.connect_port = true;
  caps.tty = true;
  caps.stats = has_cgroups;
  caps.persistent = true;
  caps.launch = true;
  caps.set_env = true;
  caps.volumes = true;
  caps.stop = true;
  caps.lifetimes = true;  // the leader holds them
  caps.network_modes = {NetworkMode::none, NetworkMode::host};
  if (bridge) caps.network_modes.push_back(NetworkMode::bridge);
  caps.set_egress = bridge;  // rules exist only on a bridge network
  caps.mount_types = {MountType::volume, MountType::bind,    MountType::tmpfs,
                      MountType::assets, MountType::pointer, MountType::backup};
  return caps;
}

std::string SubcontainerBackend::pull_image(const std::string& image,
                                            const std::function<void(const PullProgress&)>& progress) {
  return runtime_->puller->pull(parse_image_reference(image), progress);
}

std::vector<std::string> SubcontainerBackend::warnings() {
  std::vector<std::string> warnings = disk_limit_warnings(runtime_->config, runtime_->rootless);
  if (auto problem = SandboxCgroup::limits_problem(runtime_->rootless))
    warnings.push_back("memory and pids limits are not enforced: " + *problem +
                       "; sandboxes are made without the default ones (memory 2g, pids 1024), and "
                       "--memory/--pids are refused");
  return warnings;
}

std::shared_ptr<Handle> SubcontainerBackend::create(const SandboxSpec& spec) {
  return stage_files_or_destroy(create_sandbox(runtime_, spec), spec.files);
}

std::shared_ptr<Handle> SubcontainerBackend::resume(const std::string& id) {
  if (!valid_id(id)) throw Error(Errc::not_found, "no subcontainer sandbox '" + id + "'");
  auto paths = sandbox_paths(runtime_->config.sandboxes_dir, id);
  return std::make_shared<SubcontainerHandle>(runtime_, load_record(paths.record, id));
}

std::vector<std::string> SubcontainerBackend::sandbox_ids() const {
  std::vector<std::string> ids;
  std::error_code error;
  for (fs::directory_iterator it(runtime_->config.sandboxes_dir, error), end; !error && it != end; it.increment(error)) {
    auto name = it->path().filename().string();
    if (valid_id(name)) ids.push_back(name);
  }
  std::sort(ids.begin(), ids.end());
  return ids;
}

std::vector<SandboxRecord> SubcontainerBackend::records() const {
  std::vector<SandboxRecord> out;
  for (const auto& id : sandbox_ids()) {
    try {
      out.push_back(load_record(sandbox_paths(runtime_->config.sandboxes_dir, id).record, id));
    } catch (const Error& e) {
      runtime_->log->debug("skipping sandbox {}: {}", id, e.what());
    }
  }
  return out;
}

std::vector<VolumeInfo> SubcontainerBackend::volumes() { return list_volumes(*runtime_, records()); }

void SubcontainerBackend::remove_volume(const std::string& name) {
  subcontainer::remove_volume(*runtime_, name, records());
}

std::vector<SandboxInfo> SubcontainerBackend::list(const Filter& filter) {
  std::vector<SandboxInfo> out;
  for (const auto& id : sandbox_ids()) {
    try {
      auto record = load_record(sandbox_paths(runtime_->config.sandboxes_dir, id).record, id);
      if (record.cgroup_version != 0 && record.leader_pid != 0 && !leader_alive(record)) {
        release_cgroup_of_ended(*runtime_, id);
        record = load_record(sandbox_paths(runtime_->config.sandboxes_dir, id).record, id);
      }
      auto info = sandbox_info(*runtime_, record);
      if (labels_match(info.labels, filter.labels)) out.push_back(std::move(info));
    } catch (const Error& e) {
      // Being created right now, or a damaged leftover (prune removes it).
      runtime_->log->debug("list: skipping {}: {}", id, e.what());
    }
  }
  return out;
}

void SubcontainerBackend::destroy(const std::string& id) {
  if (!valid_id(id)) return;
  destroy_sandbox(*runtime_, id);
}

std::vector<std::string> SubcontainerBackend::prune(const Filter& filter) {
  std::vector<std::string> removed;
  for (const auto& id : sandbox_ids()) {
    auto paths = sandbox_paths(runtime_->config.sandboxes_dir, id);
    std::string reason;
    try {
      auto record = load_record(paths.record, id);
      if (!labels_match(sandbox_labels(record), filter.labels)) continue;
      reason = prune_reason(record, paths.record, filter);
    } catch (const Error&) {
      // No record: a create still running writes it within milliseconds; an old one crashed.
      std::error_code error;
      auto age = fs::file_time_type::clock::now() - fs::last_write_time(paths.dir, error);
      if (dangling_sandbox_link(paths.dir)) {
        reason = "its ephemeral directory is gone";  // a reboot emptied the tmpfs
      } else {
        if (error || age < std::chrono::minutes(1)) continue;
        reason = "no state file";
      }
    }
    if (reason.empty()) continue;
    runtime_->log->info("prune: removing sandbox {} ({})", id, reason);
    destroy_sandbox(*runtime_, id);
    removed.push_back(id);
  }
  // Sandboxes whose record went with their state directory still hold a cgroup. They carry
  // no labels that could be matched, so a label filter leaves them alone.
  if (filter.labels.empty())
    for (auto& id : prune_orphan_cgroups(*runtime_)) removed.push_back(std::move(id));
  // Addresses (and with the last one the bridge and the table) of sandboxes whose directory
  // went without a release.
  if (runtime_->network)
    for (const auto& id : runtime_->network->reclaim([this](const std::string& id) {
           struct stat info {};
           return ::lstat(sandbox_paths(runtime_->config.sandboxes_dir, id).dir.c_str(), &info) == 0 || errno != ENOENT;
         }))
      runtime_->log->info("prune: released the bridge address of sandbox {}, which is gone", id);
  // Id ranges of sandboxes whose directory went without a release (a hutch that crashed).
  if (runtime_->id_ranges)
    for (const auto& range : runtime_->id_ranges->reclaim_stale())
      runtime_->log->info("prune: freed the host id range {}-{} of a sandbox that is gone", range.first,
                          std::uint64_t(range.first) + range.count - 1);
  // Layers of deleted snapshots whose last sandbox is gone now.
  for (const auto& image : runtime_->images->collect_deleted(
           [this](const std::string& image_id) { return sandbox_using(image_id); }))
    runtime_->log->info("prune: removed the layer of deleted snapshot {}", image);
  return removed;
}

std::shared_ptr<Handle> SubcontainerBackend::restore(const std::string& snapshot_id, const SandboxSpec& overrides) {
  // Looked up first: a snapshot name that is not stored must not become a registry pull.
  if (!runtime_->images->find_id(snapshot_id))
    throw Error(Errc::not_found, "snapshot '" + snapshot_id + "' is not in the image store '" +
                                     runtime_->images->root().string() + "'");
  SandboxSpec spec = overrides;
  spec.image = snapshot_id;
  return stage_files_or_destroy(create_sandbox(runtime_, spec), spec.files);
}

std::vector<SnapshotInfo> SubcontainerBackend::snapshots() {
  std::vector<SnapshotInfo> out;
  for (const auto& image : runtime_->images->images()) {
    if (image.parent.empty()) continue;  // imported images are not snapshots
    SnapshotInfo info;
    info.id = image.id;
    info.label = image.names.empty() ? std::string() : image.names.front();
    info.source_sandbox = image.source;
    info.created = std::chrono::system_clock::time_point(std::chrono::seconds(image.created_unix));
    out.push_back(std::move(info));
  }
  return out;
}

void SubcontainerBackend::delete_snapshot(const std::string& snapshot_id) {
  runtime_->images->remove(snapshot_id, [this](const std::string& image_id) { return sandbox_using(image_id); });
}

std::map<std::string, std::vector<std::string>> SubcontainerBackend::sandboxes_by_image() const {
  std::map<std::string, std::vector<std::string>> users;
  for (const auto& id : sandbox_ids()) {
    // The pin first: a create writes it as soon as it has resolved its image, long before the
    // record. Sandboxes made before pins existed have only the record.
    auto paths = sandbox_paths(runtime_->config.sandboxes_dir, id);
    std::string ref = read_image_pin(paths);
    if (ref.empty()) {
      try {
        ref = load_record(paths.record, id).image_ref;
      } catch (const Error&) {
        continue;  // a leftover without a record: prune removes it
      }
    }
    users[ref].push_back(id);
  }
  return users;
}

std::string SubcontainerBackend::sandbox_using(const std::string& image_id) const {
  const auto users = sandboxes_by_image();
  const auto found = users.find(image_id);
  return found == users.end() ? std::string() : "sandbox " + found->second.front();
}

std::vector<hutch::ImageInfo> SubcontainerBackend::images() { return list_images(*runtime_, sandboxes_by_image()); }

hutch::ImageInfo SubcontainerBackend::inspect_image(const std::string& image) {
  return subcontainer::inspect_image(*runtime_, image, sandboxes_by_image());
}

void SubcontainerBackend::remove_image(const std::string& image) {
  subcontainer::remove_image(*runtime_, image, sandboxes_by_image(),
                             [this](const std::string& image_id) { return sandbox_using(image_id); });
}

std::vector<std::string> SubcontainerBackend::prune_images() {
  return subcontainer::prune_images(*runtime_, sandboxes_by_image(),
                                    [this](const std::string& image_id) { return sandbox_using(image_id); });
}

std::string SubcontainerBackend::import_image(const std::string& path, const std::string& name) {
  return subcontainer::import_image(*runtime_, path, name);
}

}  // namespace hutch::subcontainer
