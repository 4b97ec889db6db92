#include "sandbox_creation.hpp"

#include "pools.hpp"

#include <hutch/error.hpp>
#include <hutch/sandbox_files.hpp>
#include <hutch/service_labels.hpp>
#include <hutch/untrusted_spec.hpp>

#include <algorithm>
#include <chrono>

namespace hutch::server {

namespace {

OwnedSandbox take_from_pool(Service& service, const Caller& caller, const std::string& name, CreateRequest request) {
  Pools& pools = service.pools();
  const std::string& backend_name = pools.backend_name(name);  // not_found naming the pool
  if (request.backend && *request.backend != backend_name)
    throw Error(Errc::invalid_argument, "field 'backend': pool '" + name + "' makes its sandboxes on backend '" + backend_name + "'");
  if (caller.tenant)
    throw Error(Errc::permission_denied, "pool '" + name + "': pools serve the operator's tokens only, not tenant '" +
                                             *caller.tenant + "' (a pool's sandboxes are made without a tenant)");
  SandboxSpec& asked = request.spec;
  HandOut hand_out{std::move(asked.env), asked.ttl, asked.idle_timeout, std::move(asked.files), std::move(asked.labels)};
  for (auto& [key, value] : request.surface_labels) hand_out.labels[key] = value;
  // Counted under the caps as the taking token's, as a create by it would be.
  hand_out.labels[kLabelToken] = caller.name;
  const Caps::Slot slot = service.reserve_sandbox(caller);
  const auto started = std::chrono::steady_clock::now();
  OwnedSandbox owned = pools.take(name, hand_out);
  service.metrics().observe_create(backend_name, "pool", std::chrono::steady_clock::now() - started);
  service.made(*owned.backend, owned.handle, boost::json::object{{"pool", name}});
  return owned;
}

OwnedSandbox restore_from_snapshot(Service& service, const Caller& caller, const std::string& id, CreateRequest request) {
  if (request.backend || request.pool)
    throw Error(Errc::invalid_argument, "snapshot '" + id + "': a backend or pool does not apply to a restore: the snapshot's backend restores it");
  SandboxBackend& backend = service.snapshot_backend(caller, id);  // not_found unless the caller may see it
  SandboxSpec spec = std::move(request.spec);
  for (auto& [key, value] : request.surface_labels) spec.labels[key] = value;
  spec = service.owned_spec(caller, std::move(spec));
  const Caps::Slot slot = service.reserve_sandbox(caller);
  std::shared_ptr<Handle> handle = backend.restore(id, spec);
  service.made(backend, handle, boost::json::object{{"snapshot", id}});
  return {&backend, handle};
}

}  // namespace

void check_client_spec(const SandboxSpec& spec, const std::string& labels_field) {
  for (const auto& [key, value] : spec.labels)
    if (key.rfind("hutch.", 0) == 0)
      throw Error(Errc::invalid_argument, "field '" + labels_field + "." + key + "': labels starting with 'hutch.' are hutch's own");
  // A client sends file contents; a host path would be read with the service's own rights.
  refuse_host_only_fields(spec);
  validate_files(spec.files);
}

OwnedSandbox create_sandbox_for(Service& service, const Caller& caller, CreateRequest request) {
  check_client_spec(request.spec, request.labels_field);
  if (request.snapshot) {
    const std::string id = *request.snapshot;
    return restore_from_snapshot(service, caller, id, std::move(request));
  }
  if (request.pool) {
    const std::string name = *request.pool;
    return take_from_pool(service, caller, name, std::move(request));
  }
  const std::string backend_name = request.backend.value_or(service.default_backend());
  SandboxBackend& backend = service.backend(backend_name);
  SandboxSpec spec = std::move(request.spec);
  for (auto& [key, value] : request.surface_labels) spec.labels[key] = value;
  // What the request leaves unset gets the configuration's [defaults], as with `hutch create`.
  spec = service.owned_spec(caller, std::move(spec));
  const Caps::Slot slot = service.reserve_sandbox(caller);  // 429 past a sandbox cap
  const auto started = std::chrono::steady_clock::now();
  std::shared_ptr<Handle> handle = backend.create(spec);
  service.metrics().observe_create(backend_name, "backend", std::chrono::steady_clock::now() - started);
  service.made(backend, handle);
  return {&backend, handle};
}

OwnedSandbox fork_sandbox_for(Service& service, const Caller& caller, const OwnedSandbox& parent) {
  const Caps::Slot slot = service.reserve_sandbox(caller);
  std::shared_ptr<Handle> copy = parent.handle->fork();
  service.made(*parent.backend, copy, boost::json::object{{"forked_from", parent.handle->id()}});
  return {parent.backend, copy};
}

SnapshotInfo snapshot_sandbox_for(Service& service, const Caller& caller, const OwnedSandbox& owned, const std::string& label) {
  if (!owned.backend->capabilities().snapshot)
    throw Error(Errc::unsupported, "sandbox '" + owned.handle->id() + "': backend '" + owned.backend->name() +
                                       "' cannot take snapshots (its capabilities say no); use a backend that can (subcontainer, docker)");
  SnapshotInfo snapshot = owned.handle->snapshot(label);
  service.remember_snapshot(caller, snapshot.id);
  return snapshot;
}

std::vector<SnapshotInfo> snapshots_for(Service& service, const Caller& caller) {
  std::vector<SnapshotInfo> visible;
  for (const auto& [name, backend] : service.backends()) {
    if (!backend->capabilities().snapshot) continue;
    for (SnapshotInfo& snapshot : backend->snapshots())
      if (service.snapshot_visible(caller, snapshot.id)) visible.push_back(std::move(snapshot));
  }
  std::stable_sort(visible.begin(), visible.end(), [](const SnapshotInfo& a, const SnapshotInfo& b) { return a.created < b.created; });
  return visible;
}

}  // namespace hutch::server
