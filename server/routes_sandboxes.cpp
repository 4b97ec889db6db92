// /v1/sandboxes and /v1/sandboxes/{id}: create, list, inspect, remove, change lifetimes, and the
// lifecycle verbs.
#include "routes.hpp"

#include "object_reader.hpp"
#include "values_json.hpp"

#include <hutch/error.hpp>

#include <hutch/spec.hpp>
#include <hutch/spec_json.hpp>

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

void create_sandbox(Context& context) {
  json::object body = read_json_object(context);
  const json_io::ObjectReader fields(body, "", Errc::invalid_argument);
  const std::string backend_name = fields.string("backend").value_or(context.service.default_backend());
  if (fields.string("pool")) throw Error(Errc::unsupported, "field 'pool': warm pools are not available in this service yet");
  body.erase("backend");
  body.erase("pool");
  SandboxSpec spec = spec_from_request_json(json::serialize(body));
  std::shared_ptr<Handle> handle = context.service.create(context.caller, std::move(spec), backend_name);
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
  for (const SandboxInfo& info : context.service.list(context.caller, std::move(filter), context.request().query_value("backend")))
    sandboxes.push_back(sandbox_json(info));
  respond_json(context, 200, sandboxes);
}

void get_sandbox(Context& context) { answer_info(context, *sandbox_of(context).handle); }

void delete_sandbox(Context& context) {
  context.service.remove(sandbox_of(context));
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
