// /v1/sandboxes and /v1/sandboxes/{id}: create, list, inspect, remove, change lifetimes, and the
// lifecycle verbs.
#include "routes.hpp"

#include "object_reader.hpp"
#include "pools.hpp"
#include "values_json.hpp"

#include <hutch/error.hpp>
#include <hutch/sandbox_files.hpp>

#include <hutch/spec.hpp>
#include <hutch/spec_json.hpp>
#include <hutch/untrusted_spec.hpp>

#include <set>

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

SandboxSpec sandbox_spec_of(Context& context, json::object body) {
  body.erase("backend");
  body.erase("pool");
  SandboxSpec spec = spec_from_request_json(json::serialize(body));
  // A client sends file contents; a host path would be read with the service's own rights.
  refuse_host_only_fields(spec);
  for (const auto& [key, value] : spec.labels)
    if (key.rfind("hutch.", 0) == 0)
      throw Error(Errc::invalid_argument, "field 'labels." + key + "': labels starting with 'hutch.' are hutch's own");
  // What the request leaves unset gets the configuration's [defaults], as with `hutch create`.
  return context.service.owned_spec(context.caller, std::move(spec));
}

namespace {

// The fields of a create request that apply to a sandbox a pool made already.
const std::set<std::string> kHandOutFields{"pool", "backend", "env", "ttl_ms", "idle_timeout_ms", "files"};

// POST /v1/sandboxes {"pool": NAME, ...}: a ready sandbox of the pool with env, lifetimes and
// files applied; any other field is refused naming it.
void take_from_pool(Context& context, const std::string& name, json::object body) {
  Pools& pools = context.service.pools();
  const std::string& backend_name = pools.backend_name(name);  // not_found naming the pool
  for (const auto& field : body)
    if (!kHandOutFields.count(std::string(field.key())))
      throw Error(Errc::invalid_argument, "field '" + std::string(field.key()) + "': a sandbox of pool '" + name +
                                              "' is made already; only env, ttl_ms, idle_timeout_ms and files apply to it");
  if (const json::value* backend = body.if_contains("backend"); backend && (!backend->is_string() || backend->as_string() != backend_name))
    throw Error(Errc::invalid_argument, "field 'backend': pool '" + name + "' makes its sandboxes on backend '" + backend_name + "'");
  // A pool's sandboxes are made before anyone asks, without a tenant's label (which no backend
  // can add later): they are the operator's.
  if (context.caller.tenant)
    throw Error(Errc::permission_denied, "field 'pool': pools serve the operator's tokens only, not tenant '" + *context.caller.tenant + "'");
  body.erase("backend");
  body.erase("pool");
  const SandboxSpec asked = spec_from_request_json(json::serialize(body));
  refuse_host_only_fields(asked);
  validate_files(asked.files);
  OwnedSandbox owned = pools.take(name, HandOut{asked.env, asked.ttl, asked.idle_timeout, asked.files});
  answer_info(context, *owned.handle, 201);
}

}  // namespace

void create_sandbox(Context& context) {
  json::object body = read_json_object(context);
  const json_io::ObjectReader fields(body, "", Errc::invalid_argument);
  if (auto pool = fields.string("pool")) return take_from_pool(context, *pool, std::move(body));
  const std::string backend_name = fields.string("backend").value_or(context.service.default_backend());
  SandboxSpec spec = sandbox_spec_of(context, std::move(body));
  SandboxBackend& backend = context.service.backend(backend_name);
  std::shared_ptr<Handle> handle = backend.create(spec);
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
  json::array sandboxes;
  for (const SandboxInfo& info : context.service.list(context.caller, filter, context.request().query_value("backend")))
    sandboxes.push_back(sandbox_json(info));
  respond_json(context, 200, sandboxes);
}

// GET /v1/pools: each pool with its size and how many are ready.
void list_pools(Context& context) {
  json::array pools;
  if (context.service.has_pools())
    for (const Pools::Status& pool : context.service.pools().status())
      pools.push_back(json::object{{"name", pool.name},
                                   {"backend", pool.backend},
                                   {"size", pool.size},
                                   {"ready", pool.ready},
                                   {"max_age_ms", pool.max_age.count()}});
  respond_json(context, 200, pools);
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
  // env: {"set": {NAME: VALUE}, "unset": [NAME]} (Handle::set_env).
  std::optional<std::pair<Env, std::vector<std::string>>> env;
  if (fields.find("env")) {
    const auto env_fields = json_io::ObjectReader::of(*fields.find("env"), "env", Errc::invalid_argument);
    env.emplace(env_fields.string_map("set").value_or(Env{}), env_fields.string_array("unset").value_or(std::vector<std::string>{}));
    env_fields.reject_unknown();
  }
  fields.reject_unknown();
  OwnedSandbox owned = sandbox_of(context);
  if (env) owned.handle->set_env(env->first, env->second);
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
  const SnapshotInfo snapshot = owned.handle->snapshot(label);
  context.service.remember_snapshot(context.caller, snapshot.id);
  respond_json(context, 201, json_io::to_json(snapshot));
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
