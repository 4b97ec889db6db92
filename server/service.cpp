#include "service.hpp"

#include "pools.hpp"

#include <boost/asio/post.hpp>

#include <hutch/error.hpp>
#include <hutch/loader.hpp>
#include <hutch/log.hpp>
#include <hutch/spec.hpp>

#include <spdlog/spdlog.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <random>

namespace hutch::server {

namespace {

// How often the lifetime watch looks at a sandbox with an idle timeout or a running main command.
constexpr std::chrono::milliseconds kLifetimeLookInterval{1000};

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
  lifetimes_ = std::make_unique<LifetimeWatch>(
      kLifetimeLookInterval, [this](const std::string& type, Handle& sandbox, boost::json::object details) {
        events_.publish(type, sandbox.id(), known_backend_name(sandbox.id()), sandbox.spec().labels, std::move(details));
      });
  processes_.on_exit([this](const RunningProcess& process, const ExecResult& result) {
    // Details as the E2B and /v1 clients see a command's end.
    boost::json::object details{{"pid", process.pid()},
                                {"exit_code", result.exit_code},
                                {"signal", result.signal},
                                {"timed_out", result.timed_out}};
    if (process.tag()) details["tag"] = *process.tag();
    OwnedSandbox owned;
    {
      std::lock_guard lock(owners_mutex_);
      if (auto known = owners_.find(process.sandbox_id()); known != owners_.end()) owned = known->second;
    }
    if (owned.handle) announce("exited", owned, std::move(details));
    else events_.publish("exited", process.sandbox_id(), "", {}, std::move(details));
  });
}

Service::~Service() { lifetimes_->stop(); }

std::string Service::backend_name(const SandboxBackend* backend) const {
  for (const auto& [name, loaded] : backends_)
    if (loaded.get() == backend) return name;
  return backend ? backend->name() : "";
}

std::string Service::known_backend_name(const std::string& id) {
  std::lock_guard lock(owners_mutex_);
  auto known = owners_.find(id);
  return known == owners_.end() ? "" : backend_name(known->second.backend);
}

void Service::made(SandboxBackend& backend, std::shared_ptr<Handle> handle, boost::json::object details) {
  remember(backend, handle);
  announce("created", OwnedSandbox{&backend, handle}, std::move(details));
  lifetimes_->watch(handle);
}

void Service::announce(const std::string& type, const OwnedSandbox& owned, boost::json::object details) {
  Labels labels;
  try {
    labels = labels_of(owned.handle->id(), owned.handle->spec().labels);
  } catch (const std::exception&) {
    // Gone already (a prune removed it): the event goes out without labels, to the operator.
  }
  events_.publish(type, owned.handle->id(), backend_name(owned.backend), labels, std::move(details));
}

std::size_t Service::streams_open() {
  std::lock_guard lock(streams_mutex_);
  return streams_.size();
}

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

std::optional<OwnedSandbox> Service::forget(const std::string& id) {
  lifetimes_->forget(id);
  std::lock_guard lock(owners_mutex_);
  auto known = owners_.find(id);
  if (known == owners_.end()) return std::nullopt;
  OwnedSandbox owned = std::move(known->second);
  owners_.erase(known);
  return owned;
}

SandboxInfo Service::info(const OwnedSandbox& owned) {
  SandboxInfo info = owned.handle->info();
  if (pools_ && pools_->hand_out_labels(info.id)) {
    info.labels = labels_of(info.id, std::move(info.labels));
    info.spec.labels = labels_of(info.id, std::move(info.spec.labels));
  }
  return info;
}

Labels Service::labels_of(const std::string& id, Labels labels) const {
  if (!pools_) return labels;
  if (auto given = pools_->hand_out_labels(id))
    for (auto& [key, value] : *given) labels[key] = value;
  return labels;
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
  spec.labels[kLabelToken] = caller.name;
  return spec;
}

Caps::Slot Service::reserve_sandbox(const Caller& caller) {
  return caps_->take_sandbox(caller, [this](const std::optional<std::string>& token) {
    // By the labels clients see: a sandbox a pool handed out counts for the token that took it.
    std::size_t count = 0;
    for (const auto& [name, backend] : backends_)
      for (const SandboxInfo& info : backend->list(Filter{{{kLabelService, instance_id_}}})) {
        if (hidden(info.id, info.labels)) continue;
        const Labels labels = labels_of(info.id, info.labels);
        const auto named = labels.find(kLabelToken);
        if (!token || (named != labels.end() && named->second == *token)) ++count;
      }
    return count;
  });
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
  // With pools, a handed-out sandbox's labels are partly the service's (labels_of): the
  // backends filter by the labels a hand-out cannot give, the rest are matched here.
  const Labels wanted = filter.labels;
  if (pools_)
    std::erase_if(filter.labels, [](const auto& label) { return label.first != kLabelService && label.first != kLabelTenant; });
  std::vector<SandboxInfo> found;
  for (const auto& [name, loaded] : backends_) {
    if (backend_name && name != *backend_name) continue;
    for (SandboxInfo& info : loaded->list(filter)) {
      if (!visible(caller, info.labels) || hidden(info.id, info.labels)) continue;
      info.labels = labels_of(info.id, std::move(info.labels));
      info.spec.labels = labels_of(info.id, std::move(info.spec.labels));
      const bool matches = std::all_of(wanted.begin(), wanted.end(), [&](const auto& label) {
        auto have = info.labels.find(label.first);
        return have != info.labels.end() && have->second == label.second;
      });
      if (matches) found.push_back(std::move(info));
    }
  }
  return found;
}

void Service::remove(const OwnedSandbox& owned) {
  processes_.forget_sandbox(owned.handle->id());
  remove_in_background(owned);
}

void Service::remove_in_background(OwnedSandbox owned) {
  const std::string id = owned.handle->id();
  lifetimes_->forget(id);
  {
    std::lock_guard lock(owners_mutex_);
    removing_.insert(id);
    owners_.erase(id);
  }
  // Read before the destroy: a removed sandbox's handle may no longer know its spec.
  std::string backend = backend_name(owned.backend);
  Labels labels = labels_of(id, owned.handle->spec().labels);
  boost::asio::post(removals_, [this, id, handle = std::move(owned.handle), backend = std::move(backend), labels = std::move(labels)] {
    try {
      handle->destroy();
      events_.publish("destroyed", id, backend, labels);
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
  events_.close();  // every event stream ends cleanly
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

SandboxBackend* Service::find_snapshot_backend(const Caller& caller, const std::string& snapshot_id) {
  if (snapshot_visible(caller, snapshot_id))
    for (const auto& [name, backend] : backends_) {
      if (!backend->capabilities().snapshot) continue;
      for (const SnapshotInfo& snapshot : backend->snapshots())
        if (snapshot.id == snapshot_id) return backend.get();
    }
  return nullptr;
}

SandboxBackend& Service::snapshot_backend(const Caller& caller, const std::string& snapshot_id) {
  if (SandboxBackend* backend = find_snapshot_backend(caller, snapshot_id)) return *backend;
  throw Error(Errc::not_found, "no snapshot '" + snapshot_id + "'");
}

}  // namespace hutch::server
