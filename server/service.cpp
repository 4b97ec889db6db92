#include "service.hpp"

#include "pools.hpp"

#include <boost/asio/post.hpp>

#include <hutch/error.hpp>
#include <hutch/loader.hpp>
#include <hutch/log.hpp>
#include <hutch/spec.hpp>

#include <spdlog/spdlog.h>

#include <filesystem>
#include <fstream>
#include <random>

namespace hutch::server {

namespace {

// The id kept in <state_dir>/serve/instance-id, made on first start: sandboxes made by this
// service carry it, so a restarted service (or `hutch prune`) knows them as the service's.
std::string load_instance_id(const std::string& state_dir) {
  const std::filesystem::path dir = std::filesystem::path(state_dir) / "serve";
  const std::filesystem::path file = dir / "instance-id";
  std::string id;
  if (std::ifstream in(file); in && std::getline(in, id) && !id.empty()) return id;
  std::filesystem::create_directories(dir);
  std::random_device random;
  static const char* hex = "0123456789abcdef";
  for (int i = 0; i < 16; ++i) id += hex[random() % 16];
  const std::filesystem::path temp = dir / "instance-id.tmp";
  {
    std::ofstream out(temp);
    out << id << '\n';
    if (!out) throw Error(Errc::io, "cannot write the service's instance id to " + temp.string());
  }
  std::filesystem::rename(temp, file);
  return id;
}

}  // namespace

Service::Service(const Config& config, Tokens tokens) : config_(config), tokens_(std::move(tokens)) {
  std::vector<std::string> names{config.backend};
  for (const auto& [name, table] : config.backends)
    if (name != config.backend) names.push_back(name);
  std::string failures;
  for (const std::string& name : names) {
    try {
      backends_.emplace_back(name, open_backend(config, name, logger()));
    } catch (const Error& error) {
      logger()->warn("backend '{}' is not available: {}", name, error.what());
      failures += (failures.empty() ? "" : "; ") + name + ": " + error.what();
    }
  }
  if (backends_.empty()) throw Error(Errc::plugin, "no backend could be loaded: " + failures);
  default_backend_ = backends_.front().first;
  instance_id_ = load_instance_id(config.state_dir);
}

Service::~Service() = default;

void Service::start_pools(const std::vector<PoolOptions>& pools) { pools_ = std::make_unique<Pools>(*this, pools); }

void Service::stop_pools() {
  if (pools_) pools_->stop();
}

Pools& Service::pools() {
  if (!pools_) throw Error(Errc::not_found, "this service has no pools");
  return *pools_;
}

SandboxBackend& Service::backend(const std::string& name) const {
  std::string loaded;
  for (const auto& [backend_name, backend] : backends_) {
    if (backend_name == name) return *backend;
    loaded += (loaded.empty() ? "'" : ", '") + backend_name + "'";
  }
  throw Error(Errc::not_found, "no backend '" + name + "' in this service (loaded: " + loaded + ")");
}

Caller Service::authenticate(std::string_view authorization) const {
  if (tokens_.empty()) return Caller{"local", std::nullopt};
  constexpr std::string_view scheme = "Bearer ";
  if (authorization.empty())
    throw Error(Errc::unauthenticated, "this service needs a token: send 'Authorization: Bearer <token>'");
  if (authorization.size() <= scheme.size() || authorization.substr(0, scheme.size()) != scheme)
    throw Error(Errc::unauthenticated, "the Authorization header must be 'Bearer <token>'");
  if (auto caller = tokens_.find(authorization.substr(scheme.size()))) return *caller;
  throw Error(Errc::unauthenticated, "the token is not known to this service");
}

bool Service::visible(const Caller& caller, const Labels& labels) {
  if (!caller.tenant) return true;
  auto label = labels.find(kLabelTenant);
  return label != labels.end() && label->second == *caller.tenant;
}

void Service::remember(SandboxBackend& backend, std::shared_ptr<Handle> handle) {
  const std::string id = handle->id();
  std::lock_guard lock(owners_mutex_);
  owners_[id] = {&backend, std::move(handle)};
}

void Service::forget(const std::string& id) {
  std::lock_guard lock(owners_mutex_);
  owners_.erase(id);
}

std::shared_ptr<Handle> Service::create(const Caller& caller, SandboxSpec spec, const std::string& backend_name) {
  for (const auto& [key, value] : spec.labels)
    if (key.rfind("hutch.", 0) == 0)
      throw Error(Errc::invalid_argument, "field 'labels." + key + "': labels starting with 'hutch.' are hutch's own");
  SandboxBackend& chosen = backend(backend_name);
  std::shared_ptr<Handle> handle = chosen.create(owned_spec(caller, std::move(spec)));
  remember(chosen, handle);
  return handle;
}

SandboxSpec Service::owned_spec(const Caller& caller, SandboxSpec spec) const {
  const SandboxSpec& defaults = config_.defaults;
  if (!spec.ttl) spec.ttl = defaults.ttl;
  if (!spec.idle_timeout) spec.idle_timeout = defaults.idle_timeout;
  spec = merge_defaults(std::move(spec), defaults);
  // The sandbox belongs to the service, not to this process: prune leaves it to its lifetimes.
  spec.detached = true;
  spec.labels[kLabelService] = instance_id_;
  if (caller.tenant) spec.labels[kLabelTenant] = *caller.tenant;
  return spec;
}

bool Service::hidden(const std::string& id, const Labels& labels) {
  return being_removed(id) || (pools_ && pools_->hidden(id, labels));
}

std::vector<SandboxInfo> Service::list(const Caller& caller, Filter filter, const std::optional<std::string>& backend_name) {
  if (caller.tenant) {
    auto asked = filter.labels.find(kLabelTenant);
    // A tenant asking for another tenant's label simply sees nothing.
    if (asked != filter.labels.end() && asked->second != *caller.tenant) return {};
    filter.labels[kLabelTenant] = *caller.tenant;
  }
  if (backend_name) backend(*backend_name);  // not_found for an unknown one
  std::vector<SandboxInfo> found;
  for (const auto& [name, loaded] : backends_) {
    if (backend_name && name != *backend_name) continue;
    for (SandboxInfo& info : loaded->list(filter))
      if (visible(caller, info.labels) && !hidden(info.id, info.labels)) found.push_back(std::move(info));
  }
  return found;
}

void Service::remove(const OwnedSandbox& owned) {
  processes_.forget_sandbox(owned.handle->id());
  remove_in_background(owned);
}

void Service::remove_in_background(OwnedSandbox owned) {
  const std::string id = owned.handle->id();
  {
    std::lock_guard lock(owners_mutex_);
    removing_.insert(id);
    owners_.erase(id);
  }
  boost::asio::post(removals_, [this, id, handle = std::move(owned.handle)] {
    try {
      handle->destroy();
    } catch (const std::exception& error) {
      logger()->warn("removing sandbox {} failed: {}; it stays listed", id, error.what());
    }
    std::lock_guard lock(owners_mutex_);
    removing_.erase(id);
  });
}

bool Service::being_removed(const std::string& id) {
  std::lock_guard lock(owners_mutex_);
  return removing_.count(id) != 0;
}

void Service::finish_removals() { removals_.join(); }

void Service::destroy_own_sandboxes() {
  const Filter own{{{kLabelService, instance_id_}}};
  for (const auto& [name, backend] : backends_) {
    try {
      for (const SandboxInfo& info : backend->list(own)) {
        try {
          backend->destroy(info.id);
        } catch (const std::exception& error) {
          logger()->warn("--destroy-on-exit: removing sandbox {} failed: {}", info.id, error.what());
        }
      }
    } catch (const std::exception& error) {
      logger()->warn("--destroy-on-exit: listing the sandboxes of backend '{}' failed: {}", name, error.what());
    }
  }
}

void Service::begin_drain() {
  draining_ = true;
  std::lock_guard lock(streams_mutex_);
  for (Process* process : streams_) process->kill(9);
}

void Service::add_stream(Process& process) {
  std::lock_guard lock(streams_mutex_);
  streams_.insert(&process);
  // A stream that started while the drain began is ended as well.
  if (draining_) process.kill(9);
}

void Service::remove_stream(Process& process) {
  std::lock_guard lock(streams_mutex_);
  streams_.erase(&process);
}

OwnedSandbox Service::find(const Caller& caller, const std::string& id) {
  OwnedSandbox owned;
  {
    std::lock_guard lock(owners_mutex_);
    if (removing_.count(id)) throw Error(Errc::not_found, "no sandbox '" + id + "'");
    if (auto known = owners_.find(id); known != owners_.end()) owned = known->second;
  }
  for (auto backend = backends_.begin(); !owned.handle && backend != backends_.end(); ++backend) {
    try {
      owned = {backend->second.get(), backend->second->resume(id)};
      remember(*backend->second, owned.handle);
    } catch (const Error& error) {
      if (error.code() != Errc::not_found) throw;
    }
  }
  // The spec's labels: hutch.tenant is put there on create, and reading them costs nothing.
  if (!owned.handle || !visible(caller, owned.handle->spec().labels) || hidden(id, owned.handle->spec().labels))
    throw Error(Errc::not_found, "no sandbox '" + id + "'");
  return owned;
}

void Service::remember_snapshot(const Caller& caller, const std::string& snapshot_id) {
  if (!caller.tenant) return;
  std::lock_guard lock(owners_mutex_);
  snapshot_tenants_[snapshot_id] = *caller.tenant;
}

bool Service::snapshot_visible(const Caller& caller, const std::string& snapshot_id) {
  if (!caller.tenant) return true;
  std::lock_guard lock(owners_mutex_);
  auto taken = snapshot_tenants_.find(snapshot_id);
  return taken != snapshot_tenants_.end() && taken->second == *caller.tenant;
}

SandboxBackend& Service::snapshot_backend(const Caller& caller, const std::string& snapshot_id) {
  if (snapshot_visible(caller, snapshot_id))
    for (const auto& [name, backend] : backends_) {
      if (!backend->capabilities().snapshot) continue;
      for (const SnapshotInfo& snapshot : backend->snapshots())
        if (snapshot.id == snapshot_id) return *backend;
    }
  throw Error(Errc::not_found, "no snapshot '" + snapshot_id + "'");
}

}  // namespace hutch::server
