#include "backend.hpp"

#include "handle.hpp"

#include <hutch/config.hpp>
#include <hutch/error.hpp>
#include <hutch/sandbox_files.hpp>
#include <hutch/owner.hpp>
#include <hutch/spec.hpp>

#include <algorithm>

namespace hutch::fake {
namespace {

bool labels_match(const Labels& labels, const Labels& wanted) {
  return std::all_of(wanted.begin(), wanted.end(), [&](const auto& label) {
    auto found = labels.find(label.first);
    return found != labels.end() && found->second == label.second;
  });
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
  return caps;
}

SandboxInfo FakeBackend::info_of(const SandboxRecord& record) const {
  SandboxInfo info;
  info.id = record.id;
  info.backend = options_.name;
  info.image = record.spec.image;
  info.state = record.paused ? SandboxState::paused : SandboxState::running;
  info.labels = record.labels;
  info.created = record.created;
  info.spec = record.spec;
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

  SandboxRecord record;
  record.id = Store::new_id("fake-");
  record.spec = without_file_contents(spec);
  if (record.spec.image.empty()) record.spec.image = "fake";
  if (record.spec.workdir.empty()) record.spec.workdir = "/";
  record.labels = spec.labels;
  record.labels[kLabelManaged] = "true";
  record.labels[kLabelId] = record.id;
  record.labels[kLabelOwner] = options_.owner.empty() ? owner_for(spec) : options_.owner;
  record.created = std::chrono::system_clock::now();
  store_.create(record);
  if (record.spec.workdir != "/") {
    try {
      auto handle = std::make_shared<FakeHandle>(shared_from_this(), record);
      handle->fs().mkdir(record.spec.workdir, true);
      return stage_files_or_destroy(handle, spec.files);
    } catch (...) {
      store_.remove(record.id);
      throw;
    }
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

void FakeBackend::kill_commands(const std::string& sandbox_id) {
  std::vector<std::weak_ptr<RunState>> runs;
  {
    std::lock_guard lock(runs_mutex_);
    auto found = runs_.find(sandbox_id);
    if (found == runs_.end()) return;
    runs = std::move(found->second);
    runs_.erase(found);
  }
  for (auto& weak : runs)
    if (auto run = weak.lock()) kill_run(*run, 9);
}

void FakeBackend::destroy(const std::string& id) {
  kill_commands(id);
  store_.remove(id);
}

std::vector<std::string> FakeBackend::prune(const Filter& filter) {
  auto now = std::chrono::system_clock::now();
  std::vector<std::string> removed;
  for (const auto& info : list(Filter{filter.labels, false})) {
    auto owner = info.labels.find(kLabelOwner);
    bool orphaned = owner == info.labels.end() || owner_gone(owner->second);
    bool expired = info.spec.ttl && now - info.created > *info.spec.ttl;
    bool idle = info.spec.idle_timeout && now - store_.last_active(info.id) > *info.spec.idle_timeout;
    if (filter.all || orphaned || expired || idle) {
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
