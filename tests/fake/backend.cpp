#include "backend.hpp"

#include "handle.hpp"
#include "process.hpp"
#include "tree_fs.hpp"

#include <hutch/config.hpp>
#include <hutch/error.hpp>
#include <hutch/image_defaults.hpp>
#include <hutch/owner.hpp>
#include <hutch/sandbox_files.hpp>
#include <hutch/spec.hpp>
#include <hutch/workspace.hpp>

#include <algorithm>

namespace hutch::fake {
namespace {

bool labels_match(const Labels& labels, const Labels& wanted) {
  return std::all_of(wanted.begin(), wanted.end(), [&](const auto& label) {
    auto found = labels.find(label.first);
    return found != labels.end() && found->second == label.second;
  });
}

std::int64_t to_unix_ms(std::chrono::system_clock::time_point time) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(time.time_since_epoch()).count();
}

}  // namespace

FakeBackend::FakeBackend(FakeOptions options)
    : options_(std::move(options)), store_(options_.root) {}

std::string FakeBackend::name() const { return options_.name; }

Capabilities FakeBackend::capabilities() const {
  Capabilities caps;
  caps.fork = true;
  caps.snapshot = true;
  caps.pause = true;
  caps.stdin = true;
  caps.stats = true;
  caps.persistent = true;
  caps.set_env = true;
  caps.stop = true;
  caps.lifetimes = true;
  caps.set_egress = true;
  return caps;
}

bool FakeBackend::lifetime_passed(const SandboxRecord& record) {
  const auto now = std::chrono::system_clock::now();
  if (record.ttl_deadline_ms != 0 && to_unix_ms(now) >= record.ttl_deadline_ms) return true;
  if (record.idle_timeout_ms == 0 || commands_running(record.id)) return false;
  return now - store_.last_active(record.id) >= std::chrono::milliseconds(record.idle_timeout_ms);
}

bool FakeBackend::commands_running(const std::string& sandbox_id) {
  std::lock_guard lock(runs_mutex_);
  auto found = runs_.find(sandbox_id);
  if (found == runs_.end()) return false;
  for (auto& weak : found->second)
    if (auto run = weak.lock(); run && !wait_run_ended(*run, std::chrono::steady_clock::now())) return true;
  return false;
}

SandboxInfo FakeBackend::info_of(const SandboxRecord& record) {
  SandboxInfo info;
  info.id = record.id;
  info.backend = options_.name;
  info.image = record.spec.image;
  info.state = record.stopped            ? SandboxState::stopped
               : lifetime_passed(record) ? SandboxState::expired
               : record.paused           ? SandboxState::paused
                                         : SandboxState::running;
  if (record.ttl_deadline_ms != 0)
    info.expires_at = std::chrono::system_clock::time_point(std::chrono::milliseconds(record.ttl_deadline_ms));
  info.labels = record.labels;
  info.created = record.created;
  info.spec = record.spec;
  // The fake's images have no config of their own: the spec's entrypoint, env, workdir, user.
  info.defaults = resolve_defaults({}, record.spec);
  if (info.defaults->workdir.empty()) info.defaults->workdir = "/";
  return info;
}

std::shared_ptr<Handle> FakeBackend::create(const SandboxSpec& spec) {
  validate(spec);
  if (!spec.mounts.empty())
    throw Error(Errc::unsupported, "backend '" + name() + "' does not support mounts (spec has " +
                                       std::to_string(spec.mounts.size()) + ")");
  if (!spec.ports.empty()) throw_unsupported(name(), "published ports");
  if (spec.network != NetworkMode::none)
    throw Error(Errc::unsupported, "backend '" + name() + "' does not support network mode '" +
                                       to_string(spec.network) + "' (only 'none')");

  refuse_named_workspace(spec, name());

  SandboxRecord record;
  record.id = Store::new_id("fake-");
  record.spec = without_file_contents(spec);
  if (record.spec.image.empty()) record.spec.image = "fake";
  if (record.spec.workdir.empty()) record.spec.workdir = fallback_working_directory(spec);
  record.labels = spec.labels;
  record.labels[kLabelManaged] = "true";
  record.labels[kLabelId] = record.id;
  record.labels[kLabelOwner] = options_.owner.empty() ? owner_for(spec) : options_.owner;
  record.created = std::chrono::system_clock::now();
  if (spec.ttl) record.ttl_deadline_ms = to_unix_ms(record.created + *spec.ttl);
  if (spec.idle_timeout) record.idle_timeout_ms = spec.idle_timeout->count();
  store_.create(record);
  try {
    // Straight into the sandbox's tree, not through its handle's Fs: a ttl shorter than this
    // create must not fail it (the sandbox is then expired, as the contract says).
    TreeFs tree(store_.files_dir(record.id), record.id);
    // The ephemeral workspace is a directory of the sandbox's tree, gone with it.
    if (workspace_of(spec).kind == WorkspaceKind::ephemeral) tree.mkdir(kWorkspaceTarget, true);
    if (record.spec.workdir != "/") tree.mkdir(record.spec.workdir, true);
  } catch (...) {
    store_.remove(record.id);
    throw;
  }
  return stage_files_or_destroy(std::make_shared<FakeHandle>(shared_from_this(), std::move(record)), spec.files);
}

std::shared_ptr<Handle> FakeBackend::resume(const std::string& id) {
  auto record = store_.load(id);
  if (!record)
    throw Error(Errc::not_found,
                "no fake sandbox '" + id + "' (in " + store_.root().string() + ")");
  return std::make_shared<FakeHandle>(shared_from_this(), std::move(*record));
}

std::vector<SandboxInfo> FakeBackend::list(const Filter& filter) {
  std::vector<SandboxInfo> out;
  for (const auto& id : store_.ids()) {
    auto record = store_.load(id);
    if (record && labels_match(record->labels, filter.labels)) out.push_back(info_of(*record));
  }
  return out;
}

void FakeBackend::track(const std::string& sandbox_id, std::weak_ptr<RunState> run) {
  std::lock_guard lock(runs_mutex_);
  auto& runs = runs_[sandbox_id];
  std::erase_if(runs, [](const auto& weak) { return weak.expired(); });
  runs.push_back(std::move(run));
}

void FakeBackend::stop_commands(const std::string& sandbox_id, Duration grace) {
  std::vector<std::shared_ptr<RunState>> runs;
  {
    std::lock_guard lock(runs_mutex_);
    auto found = runs_.find(sandbox_id);
    if (found == runs_.end()) return;
    for (auto& weak : found->second)
      if (auto run = weak.lock()) runs.push_back(std::move(run));
    runs_.erase(found);
  }
  for (auto& run : runs) terminate_run(*run);
  const auto kill_at = std::chrono::steady_clock::now() + grace;
  for (auto& run : runs)
    if (!wait_run_ended(*run, kill_at)) kill_run(*run, 9);
}

void FakeBackend::destroy(const std::string& id) {
  if (auto record = store_.load(id)) stop_commands(id, record->spec.stop_grace.value_or(kDefaultStopGrace));
  store_.remove(id);
}

std::vector<std::string> FakeBackend::prune(const Filter& filter) {
  auto now = std::chrono::system_clock::now();
  std::vector<std::string> removed;
  for (const auto& info : list(Filter{filter.labels, false})) {
    auto owner = info.labels.find(kLabelOwner);
    bool orphaned = owner == info.labels.end() || owner_gone(owner->second);
    bool expired = info.state == SandboxState::expired || (info.expires_at && now > *info.expires_at);
    // An idle timeout that passed shows in info.state (lifetime_passed sees the commands still
    // running); `expired` covers it.
    if (filter.all || orphaned || expired) {
      destroy(info.id);
      removed.push_back(info.id);
    }
  }
  return removed;
}

std::shared_ptr<Handle> FakeBackend::restore(const std::string& snapshot_id,
                                             const SandboxSpec& overrides) {
  auto snapshot = store_.load_snapshot(snapshot_id);
  if (!snapshot)
    throw Error(Errc::not_found, "no fake snapshot '" + snapshot_id + "' (in " +
                                     store_.root().string() + ")");
  SandboxSpec spec = overrides;
  spec.image = snapshot->image;
  auto handle = create(spec);
  try {
    store_.restore_files(snapshot_id, handle->id());
  } catch (...) {
    destroy(handle->id());
    throw;
  }
  return handle;
}

std::vector<SnapshotInfo> FakeBackend::snapshots() {
  std::vector<SnapshotInfo> out;
  for (auto& record : store_.snapshots()) out.push_back(std::move(record.info));
  return out;
}

void FakeBackend::delete_snapshot(const std::string& snapshot_id) {
  if (!store_.remove_snapshot(snapshot_id))
    throw Error(Errc::not_found, "no fake snapshot '" + snapshot_id + "' (in " +
                                     store_.root().string() + ")");
}

std::shared_ptr<SandboxBackend> make_fake_backend(FakeOptions options) {
  return std::make_shared<FakeBackend>(std::move(options));
}

std::shared_ptr<SandboxBackend> make_fake_backend_from_context(const PluginContext& context) {
  FakeOptions options;
  options.name = context.name.empty() ? "fake" : context.name;
  if (auto root = context.config.get_string("root")) {
    if (root->empty() || root->front() != '/')
      context.config.fail("root", "must be an absolute path, got '" + *root + "'");
    options.root = *root;
  } else {
    if (context.state_dir.empty())
      context.config.fail("root", "no state directory given; set root = \"/abs/dir\"");
    options.root = std::filesystem::path(context.state_dir) / "fake";
  }
  if (auto warning = context.config.get_string("warning")) options.warnings.push_back(*warning);
  context.config.reject_unknown_keys();
  return make_fake_backend(std::move(options));
}

}  // namespace hutch::fake
