#include "service.hpp"

#include <hutch/error.hpp>
#include <hutch/loader.hpp>
#include <hutch/log.hpp>

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

OwnedSandbox Service::find(const Caller& caller, const std::string& id) {
  OwnedSandbox owned;
  {
    std::lock_guard lock(owners_mutex_);
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
  if (!owned.handle || !visible(caller, owned.handle->spec().labels))
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
