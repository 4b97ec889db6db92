// /v1/sandboxes and /v1/sandboxes/{id}: create, list, inspect, remove, change lifetimes, and the
// lifecycle verbs.
#include "routes.hpp"

#include "object_reader.hpp"
#include "values_json.hpp"

#include <hutch/error.hpp>

#include <hutch/spec.hpp>
#include <hutch/spec_json.hpp>
#include <hutch/untrusted_spec.hpp>

namespace hutch::server {

namespace json = boost::json;

namespace {

// The sandbox's info, as the answer.
void answer_info(Context& context, Handle& handle, unsigned status = 200) {
  respond_json(context, status, sandbox_json(handle.info()));
}

// stop, start, pause, unpause: the verb, then the sandbox's info.
void run_verb(Context& context, void (Handle::*verb)()) {
  OwnedSandbox owned = sandbox_of(context);
  ((*owned.handle).*verb)();
  answer_info(context, *owned.handle);
}

}  // namespace

namespace {

// The spec of a create or restore request body, made the service's (its labels, [defaults]),
// and the backend it names (default: the service's default).
SandboxSpec service_spec(Context& context, json::object body, std::string& backend_name) {
  const json_io::ObjectReader fields(body, "", Errc::invalid_argument);
  backend_name = fields.string("backend").value_or(context.service.default_backend());
  if (fields.string("pool")) throw Error(Errc::unsupported, "field 'pool': warm pools are not available in this service yet");
  body.erase("backend");
  body.erase("pool");
  SandboxSpec spec = spec_from_request_json(json::serialize(body));
  // A client sends file contents; a host path would be read with the service's own rights.
  refuse_host_only_fields(spec);
  for (const auto& [key, value] : spec.labels)
    if (key.rfind("hutch.", 0) == 0)
      throw Error(Errc::invalid_argument, "field 'labels." + key + "': labels starting with 'hutch.' are hutch's own");
  // What the request leaves unset gets the configuration's [defaults], as with `hutch create`.
  const SandboxSpec& defaults = context.service.config().defaults;
  if (!spec.ttl) spec.ttl = defaults.ttl;
  if (!spec.idle_timeout) spec.idle_timeout = defaults.idle_timeout;
  spec = merge_defaults(std::move(spec), defaults);
  // The sandbox belongs to the service, not to this process: prune leaves it to its lifetimes.
  spec.detached = true;
  spec.labels[kLabelService] = context.service.instance_id();
  if (context.caller.tenant) spec.labels[kLabelTenant] = *context.caller.tenant;
  return spec;
}

// Snapshots carry no tenant label yet: only the operator lists, restores or deletes them.
void refuse_tenant_snapshots(Context& context) {
  if (context.caller.tenant)
    throw Error(Errc::permission_denied, "snapshots are not kept per tenant yet: only a token without a tenant may use them");
}

// The backend holding snapshot `id`; Errc::not_found when none does.
SandboxBackend& snapshot_backend(Context& context, const std::string& id) {
  for (const auto& [name, backend] : context.service.backends()) {
    if (!backend->capabilities().snapshot) continue;
    for (const SnapshotInfo& snapshot : backend->snapshots())
      if (snapshot.id == id) return *backend;
  }
  throw Error(Errc::not_found, "no snapshot '" + id + "'");
}

}  // namespace

void create_sandbox(Context& context) {
  std::string backend_name;
  SandboxSpec spec = service_spec(context, read_json_object(context), backend_name);
  SandboxBackend& backend = context.service.backend(backend_name);
  std::shared_ptr<Handle> handle = backend.create(spec);
  context.service.remember(backend, handle);
  answer_info(context, *handle, 201);
}

void list_snapshots(Context& context) {
  refuse_tenant_snapshots(context);
  json::array snapshots;
  for (const auto& [name, backend] : context.service.backends())
    if (backend->capabilities().snapshot)
      for (const SnapshotInfo& snapshot : backend->snapshots()) snapshots.push_back(json_io::to_json(snapshot));
  respond_json(context, 200, snapshots);
}

void delete_snapshot(Context& context) {
  refuse_tenant_snapshots(context);
  const std::string& id = context.request().params.at("id");
  snapshot_backend(context, id).delete_snapshot(id);
  context.exchange.respond(204, "application/json", "");
}

// POST /v1/snapshots/{id}/restore: a new sandbox from the snapshot; the body is a spec (its
// image is ignored) as for POST /v1/sandboxes.
void restore_snapshot(Context& context) {
  refuse_tenant_snapshots(context);
  std::string ignored_backend;
  SandboxSpec spec = service_spec(context, read_json_object(context), ignored_backend);
  const std::string& id = context.request().params.at("id");
  SandboxBackend& backend = snapshot_backend(context, id);
  std::shared_ptr<Handle> handle = backend.restore(id, spec);
  context.service.remember(backend, handle);
  answer_info(context, *handle, 201);
}

void list_sandboxes(Context& context) {
  Filter filter;
  for (const std::string& label : context.request().query_values("label")) {
    const auto equals = label.find('=');
    if (equals == std::string::npos || equals == 0)
      throw Error(Errc::invalid_argument, "query parameter 'label': expected KEY=VALUE, got '" + label + "'");
    filter.labels[label.substr(0, equals)] = label.substr(equals + 1);
  }
  if (context.caller.tenant) {
    auto asked = filter.labels.find(kLabelTenant);
    // A tenant asking for another tenant's label simply sees nothing.
    if (asked != filter.labels.end() && asked->second != *context.caller.tenant) return respond_json(context, 200, json::array{});
    filter.labels[kLabelTenant] = *context.caller.tenant;
  }
  const auto backend_filter = context.request().query_value("backend");
  if (backend_filter) context.service.backend(*backend_filter);  // not_found for an unknown one
  json::array sandboxes;
  for (const auto& [name, backend] : context.service.backends()) {
    if (backend_filter && name != *backend_filter) continue;
    for (const SandboxInfo& info : backend->list(filter))
      if (Service::visible(context.caller, info.labels) && !context.service.being_removed(info.id))
        sandboxes.push_back(sandbox_json(info));
  }
  respond_json(context, 200, sandboxes);
}

void get_sandbox(Context& context) { answer_info(context, *sandbox_of(context).handle); }

// Answers once the sandbox is marked for removal; it is removed in the background.
void delete_sandbox(Context& context) {
  context.service.remove_in_background(sandbox_of(context));
  context.exchange.respond(204, "application/json", "");
}

void patch_sandbox(Context& context) {
  const json::object body = read_json_object(context);
  const json_io::ObjectReader fields(body, "", Errc::invalid_argument);
  LifetimeUpdate update;
  if (auto ms = fields.integer("ttl_ms", 0)) update.ttl = Duration(*ms);
  if (auto ms = fields.integer("idle_timeout_ms", 0)) update.idle_timeout = Duration(*ms);
  fields.reject_unknown();
  OwnedSandbox owned = sandbox_of(context);
  if (update.ttl || update.idle_timeout) owned.handle->set_lifetime(update);
  answer_info(context, *owned.handle);
}

void stop_sandbox(Context& context) { run_verb(context, &Handle::stop); }
void start_sandbox(Context& context) { run_verb(context, &Handle::start); }
void pause_sandbox(Context& context) { run_verb(context, &Handle::pause); }
void unpause_sandbox(Context& context) { run_verb(context, &Handle::unpause); }

void fork_sandbox(Context& context) {
  OwnedSandbox owned = sandbox_of(context);
  std::shared_ptr<Handle> copy = owned.handle->fork();
  context.service.remember(*owned.backend, copy);
  answer_info(context, *copy, 201);
}

void snapshot_sandbox(Context& context) {
  const json::object body = read_json_object(context);
  const json_io::ObjectReader fields(body, "", Errc::invalid_argument);
  const std::string label = fields.string("label").value_or("");
  fields.reject_unknown();
  OwnedSandbox owned = sandbox_of(context);
  respond_json(context, 201, json_io::to_json(owned.handle->snapshot(label)));
}

void get_stats(Context& context) { respond_json(context, 200, json_io::to_json(sandbox_of(context).handle->stats())); }

}  // namespace hutch::server

namespace hutch::server {

// POST /v1/prune {"labels": {...}, "all": false}: the backends' prune, limited to this
// service's sandboxes (and the caller's tenant): with "all", every one matching the labels;
// without, those whose ttl or idle timeout has passed. Answers the removed ids.
void prune_sandboxes(Context& context) {
  const json::object body = read_json_object(context);
  const json_io::ObjectReader fields(body, "", Errc::invalid_argument);
  Filter filter;
  filter.labels = fields.string_map("labels").value_or(Labels{});
  filter.all = fields.boolean("all").value_or(false);
  fields.reject_unknown();
  filter.labels[kLabelService] = context.service.instance_id();
  if (context.caller.tenant) filter.labels[kLabelTenant] = *context.caller.tenant;
  json::array removed;
  for (const auto& [name, backend] : context.service.backends())
    for (const std::string& id : backend->prune(filter)) {
      context.service.forget(id);
      removed.emplace_back(id);
    }
  respond_json(context, 200, json::object{{"removed", std::move(removed)}});
}

}  // namespace hutch::server
