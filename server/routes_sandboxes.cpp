// /v1/sandboxes and /v1/sandboxes/{id}: create, list, inspect, remove, change lifetimes, and the
// lifecycle verbs.
#include "routes.hpp"

#include "object_reader.hpp"
#include "pools.hpp"
#include "sandbox_creation.hpp"
#include "values_json.hpp"

#include <hutch/error.hpp>

#include <hutch/spec.hpp>
#include <hutch/spec_json.hpp>

#include <set>

namespace hutch::server {

namespace json = boost::json;

namespace {

// The sandbox's info, as the answer.
void answer_info(Context& context, const OwnedSandbox& owned, unsigned status = 200) {
  respond_json(context, status, sandbox_json(context.service.info(owned)));
}

// stop, start, pause, unpause: the verb, its event, then the sandbox's info.
void run_verb(Context& context, void (Handle::*verb)(), const char* event) {
  OwnedSandbox owned = sandbox_of(context);
  ((*owned.handle).*verb)();
  context.service.announce(event, owned);
  context.service.watch(owned);
  answer_info(context, owned);
}

// The fields of a create request that apply to a sandbox a pool made already.
const std::set<std::string> kHandOutFields{"pool", "backend", "env", "ttl_ms", "idle_timeout_ms", "files", "labels"};

}  // namespace

// POST /v1/sandboxes: the request's fields as a CreateRequest (sandbox_creation.hpp), which
// applies the rules /v1 and E2B share. With "pool", a ready sandbox of the pool with env,
// lifetimes, files and labels applied; any other field is refused naming it.
void create_sandbox(Context& context) {
  json::object body = read_json_object(context);
  const json_io::ObjectReader fields(body, "", Errc::invalid_argument);
  CreateRequest request;
  request.backend = fields.string("backend");
  request.pool = fields.string("pool");
  if (request.pool)
    for (const auto& field : body)
      if (!kHandOutFields.count(std::string(field.key())))
        throw Error(Errc::invalid_argument, "field '" + std::string(field.key()) + "': a sandbox of pool '" + *request.pool +
                                                "' is made already; only env, ttl_ms, idle_timeout_ms, files and labels apply to it");
  body.erase("backend");
  body.erase("pool");
  request.spec = spec_from_request_json(json::serialize(body));
  OwnedSandbox owned = create_sandbox_for(context.service, context.caller, std::move(request));
  answer_info(context, owned, 201);
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

void get_sandbox(Context& context) { answer_info(context, sandbox_of(context)); }

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
  // egress: the spec's form (Handle::set_egress); [] returns to the default policy.
  std::optional<std::vector<EgressRule>> egress;
  if (const json::value* rules = fields.find("egress")) egress = egress_from_request_json(json::serialize(*rules));
  fields.reject_unknown();
  OwnedSandbox owned = sandbox_of(context);
  if (egress) owned.handle->set_egress(*egress);
  if (env) owned.handle->set_env(env->first, env->second);
  if (update.ttl || update.idle_timeout) {
    owned.handle->set_lifetime(update);
    context.service.watch(owned);  // a new expiry to look for
  }
  answer_info(context, owned);
}

void stop_sandbox(Context& context) { run_verb(context, &Handle::stop, "stopped"); }
void start_sandbox(Context& context) { run_verb(context, &Handle::start, "started"); }
void pause_sandbox(Context& context) { run_verb(context, &Handle::pause, "paused"); }
void unpause_sandbox(Context& context) { run_verb(context, &Handle::unpause, "unpaused"); }

void fork_sandbox(Context& context) {
  answer_info(context, fork_sandbox_for(context.service, context.caller, sandbox_of(context)), 201);
}

void snapshot_sandbox(Context& context) {
  const json::object body = read_json_object(context);
  const json_io::ObjectReader fields(body, "", Errc::invalid_argument);
  const std::string label = fields.string("label").value_or("");
  fields.reject_unknown();
  const SnapshotInfo snapshot = snapshot_sandbox_for(context.service, context.caller, sandbox_of(context), label);
  respond_json(context, 201, json_io::to_json(snapshot));
}

void get_stats(Context& context) { respond_json(context, 200, json_io::to_json(sandbox_of(context).handle->stats())); }

void get_published_ports(Context& context) {
  boost::json::array bindings;
  for (const auto& binding : sandbox_of(context).handle->ports()) bindings.push_back(json_io::to_json(binding));
  respond_json(context, 200, bindings);
}

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
      // Announced with its labels (and so to its tenant) when the service knew its handle;
      // otherwise to the operator only, without labels.
      if (auto known = context.service.forget(id)) context.service.announce("destroyed", *known, json::object{{"pruned", true}});
      else context.service.events().publish("destroyed", id, name, {}, json::object{{"pruned", true}});
      removed.emplace_back(id);
    }
  respond_json(context, 200, json::object{{"removed", std::move(removed)}});
}

}  // namespace hutch::server
