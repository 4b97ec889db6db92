#include "remote_backend.hpp"

#include "remote_handle.hpp"
#include "values_json.hpp"

#include <hutch/error.hpp>
#include <hutch/sandbox_files.hpp>
#include <hutch/service_labels.hpp>
#include <hutch/spec_json.hpp>

#include <boost/json.hpp>

namespace hutch::remote {

namespace json = boost::json;

namespace {

std::string label_query(const Labels& labels) {
  std::string query;
  for (const auto& [key, value] : labels) query += (query.empty() ? "?" : "&") + std::string("label=") + encode(key + "=" + value);
  return query;
}

}  // namespace

RemoteBackend::RemoteBackend(std::string name, Settings settings)
    : name_(std::move(name)), settings_(std::move(settings)),
      client_(std::make_shared<ServiceClient>(settings_.address, settings_.token, settings_.tls)) {}

void RemoteBackend::ask_backends() const {
  std::lock_guard lock(backends_mutex_);
  if (capabilities_) return;
  const json::value answer = client_->call("GET", "/v1/backends");
  if (!answer.is_array()) throw Error(Errc::backend, "GET /v1/backends at " + client_->address_text() + ": not an array");
  for (const auto& entry : answer.as_array()) {
    if (!entry.is_object()) continue;
    const auto& object = entry.as_object();
    const auto* entry_name = object.if_contains("name");
    const auto* is_default = object.if_contains("default");
    if (!entry_name || !entry_name->is_string()) continue;
    const std::string backend(entry_name->as_string());
    const bool wanted = settings_.service_backend.empty() ? is_default && is_default->is_bool() && is_default->as_bool()
                                                          : backend == settings_.service_backend;
    if (!wanted) continue;
    Capabilities caps = json_io::capabilities_from_json(object.at("capabilities"));
    // The service keeps its sandboxes whatever its backend does: another client finds them by id.
    caps.persistent = true;
    capabilities_ = caps;
    service_backend_ = backend;
    return;
  }
  throw Error(Errc::config, "the service at " + client_->address_text() + " has no backend " +
                                (settings_.service_backend.empty() ? "marked default" : "'" + settings_.service_backend + "'") +
                                " (see [backends." + name_ + "] backend, and GET /v1/backends)");
}

Capabilities RemoteBackend::capabilities() const {
  ask_backends();
  return *capabilities_;
}

const std::string& RemoteBackend::service_backend() const {
  ask_backends();
  return service_backend_;
}

namespace {

// The service refuses host paths in files[] (they would be its own host's files): this host's
// are read here and sent as content.
SandboxSpec with_sources_of(SandboxSpec spec) {
  spec.files = with_sources_read(std::move(spec.files));
  return spec;
}

}  // namespace

std::shared_ptr<Handle> RemoteBackend::create(const SandboxSpec& spec) {
  // Capabilities::volumes is false here (the API has no volume routes yet): a named workspace
  // would make a volume this client could neither list nor remove.
  if (!spec.workspace.empty() && spec.workspace != kWorkspaceEphemeral && spec.workspace != kWorkspaceNone)
    throw_unsupported(name_, "a named workspace volume ('" + spec.workspace + "')");
  json::value body = json_io::spec_json(with_sources_of(spec));
  if (auto pool = spec.labels.find(kLabelPool); pool != spec.labels.end()) {
    // `--pool NAME` (the CLI's spec label): a ready sandbox of the service's pool, with only
    // what applies to a made one; the rest of the spec is the pool's.
    json::object hand_out{{"pool", pool->second}};
    for (const char* key : {"env", "ttl_ms", "idle_timeout_ms", "files"})
      if (const json::value* value = body.as_object().if_contains(key)) hand_out[key] = *value;
    body = std::move(hand_out);
  } else {
    body.as_object()["backend"] = service_backend();
  }
  return std::make_shared<RemoteHandle>(client_, name_, remote_info(client_->call("POST", "/v1/sandboxes", body), name_));
}

std::shared_ptr<Handle> RemoteBackend::resume(const std::string& id) {
  return std::make_shared<RemoteHandle>(client_, name_, remote_info(client_->call("GET", "/v1/sandboxes/" + encode(id)), name_));
}

std::vector<SandboxInfo> RemoteBackend::list(const Filter& filter) {
  const json::value answer = client_->call("GET", "/v1/sandboxes" + label_query(filter.labels));
  if (!answer.is_array()) throw Error(Errc::backend, "GET /v1/sandboxes at " + client_->address_text() + ": not an array");
  std::vector<SandboxInfo> infos;
  for (const auto& entry : answer.as_array()) infos.push_back(remote_info(entry, name_));
  return infos;
}

void RemoteBackend::destroy(const std::string& id) {
  try {
    client_->call("DELETE", "/v1/sandboxes/" + encode(id));
  } catch (const Error& error) {
    if (error.code() != Errc::not_found) throw;  // idempotent
  }
}

std::vector<std::string> RemoteBackend::prune(const Filter& filter) {
  const json::value answer =
      client_->call("POST", "/v1/prune", json::object{{"labels", json_io::to_json(filter.labels)}, {"all", filter.all}});
  std::vector<std::string> removed;
  if (const auto* ids = answer.is_object() ? answer.as_object().if_contains("removed") : nullptr; ids && ids->is_array())
    for (const auto& id : ids->as_array())
      if (id.is_string()) removed.emplace_back(id.as_string());
  return removed;
}

std::shared_ptr<Handle> RemoteBackend::restore(const std::string& snapshot_id, const SandboxSpec& overrides) {
  if (!capabilities().snapshot) throw_unsupported(name_, "restore");
  return std::make_shared<RemoteHandle>(
      client_, name_, remote_info(client_->call("POST", "/v1/snapshots/" + encode(snapshot_id) + "/restore", json_io::spec_json(with_sources_of(overrides))), name_));
}

std::vector<SnapshotInfo> RemoteBackend::snapshots() {
  if (!capabilities().snapshot) throw_unsupported(name_, "snapshots");
  const json::value answer = client_->call("GET", "/v1/snapshots");
  if (!answer.is_array()) throw Error(Errc::backend, "GET /v1/snapshots at " + client_->address_text() + ": not an array");
  std::vector<SnapshotInfo> snapshots;
  for (const auto& entry : answer.as_array()) snapshots.push_back(json_io::snapshot_from_json(entry));
  return snapshots;
}

void RemoteBackend::delete_snapshot(const std::string& snapshot_id) {
  if (!capabilities().snapshot) throw_unsupported(name_, "delete_snapshot");
  client_->call("DELETE", "/v1/snapshots/" + encode(snapshot_id));
}

std::shared_ptr<SandboxBackend> make_remote_backend(const PluginContext& context) {
  return std::make_shared<RemoteBackend>(context.name, read_settings(context));
}

}  // namespace hutch::remote
