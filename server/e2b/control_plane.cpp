// E2B's control-plane REST API (E2B's api spec: /sandboxes, /v2/sandboxes and their verbs),
// under /e2b, translated to the Service's calls. The SDK releases use different routes for the
// same thing (2.45: POST /sandboxes, /sandboxes/{id}/connect; 2.51: POST /v2/sandboxes,
// /v2/sandboxes/{id}/connect), so each is registered. What needs E2B's cloud (template builds,
// volumes, secrets, network rules) is refused with 501 and a message naming it. Snapshots and
// forks are the backends' own (Handle::snapshot, Handle::fork), where their capabilities allow.
#include "context.hpp"
#include "lifecycle.hpp"

#include "object_reader.hpp"
#include "sandbox_creation.hpp"
#include "values_json.hpp"

#include <hutch/error.hpp>
#include <hutch/handle.hpp>
#include <hutch/service_labels.hpp>

#include <algorithm>
#include <cstdlib>

namespace hutch::server::e2b {

namespace json = boost::json;

namespace {

constexpr std::int64_t kDefaultTimeoutSeconds = 300;  // E2B's, when the request sets none
constexpr std::int64_t kMaxTimeoutSeconds = 30 * 24 * 3600;
constexpr std::int64_t kDefaultForkTimeoutSeconds = 15;  // E2B's SandboxForkRequest default
constexpr std::int64_t kMaxForks = 16;
constexpr std::size_t kMaxSnapshotPage = 100;

// The metadata of a sandbox: its labels without hutch's own and this layer's (e2b.*).
json::object metadata_of(const Labels& labels) {
  json::object metadata;
  for (const auto& [key, value] : labels)
    if (key.rfind("hutch.", 0) != 0 && key.rfind(kLabelPrefix, 0) != 0) metadata[key] = value;
  return metadata;
}

// E2B's ListedSandbox / SandboxDetail. An auto-pause sandbox ends (pauses) at its AutoPause
// deadline, any other at its ttl.
json::object sandbox_json(const E2b& e2b, const SandboxInfo& info) {
  json::object object;
  const auto tmpl = info.labels.find(kLabelTemplate);
  object["templateID"] = tmpl != info.labels.end() ? tmpl->second : info.image;
  object["sandboxID"] = info.id;
  object["clientID"] = "hutch";
  object["startedAt"] = json_io::format_time(info.created);
  const auto end = e2b.pause_deadline(info.id);
  object["endAt"] = json_io::format_time(end ? *end : info.expires_at.value_or(info.created + std::chrono::hours(24 * 365)));
  object["cpuCount"] = info.spec.limits.cpus ? static_cast<std::int64_t>(std::max(1.0, *info.spec.limits.cpus)) : 1;
  object["memoryMB"] = info.spec.limits.memory_bytes ? static_cast<std::int64_t>(*info.spec.limits.memory_bytes >> 20) : 0;
  object["diskSizeMB"] = 0;
  object["metadata"] = metadata_of(info.labels);
  object["state"] = paused_for_e2b(info) ? "paused" : "running";
  object["lifecycle"] = lifecycle_json(info.labels);
  object["envdVersion"] = kEnvdVersion;
  object["volumeMounts"] = json::array{};
  return object;
}

// E2B's Sandbox: what create, resume and connect answer, with envd's access token.
json::object created_json(E2b& e2b, const OwnedSandbox& owned) {
  const SandboxInfo info = e2b.service().info(owned);
  json::object object;
  const auto tmpl = info.labels.find(kLabelTemplate);
  object["templateID"] = tmpl != info.labels.end() ? tmpl->second : info.image;
  object["sandboxID"] = info.id;
  object["clientID"] = "hutch";
  object["envdVersion"] = kEnvdVersion;
  object["envdAccessToken"] = e2b.access_token(info.id);
  // What E2B's proxy wants (E2b-Traffic-Access-Token) for a sandbox's ports: here the same token.
  object["trafficAccessToken"] = e2b.access_token(info.id);
  // With a domain, the SDK's getHost(PORT) names "PORT-ID.<domain>", which envd_ports.cpp serves.
  if (e2b.domain().empty())
    object["domain"] = nullptr;
  else
    object["domain"] = e2b.domain();
  return object;
}

void respond(Context& context, unsigned status, const json::value& document) {
  context.exchange.respond(status, "application/json", json::serialize(document));
}

json::object read_body(Context& context) {
  const std::string body = context.exchange.read_body(context.service.json_body_limit());
  if (body.find_first_not_of(" \t\r\n") == std::string::npos) return {};
  boost::system::error_code ec;
  json::value document = json::parse(body, ec);
  if (ec || !document.is_object()) throw Error(Errc::invalid_argument, "the request body is not a JSON object");
  return std::move(document.as_object());
}

// A timeout in seconds (E2B's `timeout` field), 1 s to 30 days.
std::optional<Duration> timeout_field(const json::object& body, const char* name) {
  const json::value* value = body.if_contains(name);
  if (value == nullptr || value->is_null()) return std::nullopt;
  if (!value->is_int64() && !value->is_uint64())
    throw Error(Errc::invalid_argument, std::string("field '") + name + "': expected a number of seconds");
  const std::int64_t seconds = value->is_int64() ? value->as_int64() : static_cast<std::int64_t>(value->as_uint64());
  if (seconds < 0 || seconds > kMaxTimeoutSeconds)
    throw Error(Errc::invalid_argument, std::string("field '") + name + "': expected 0 to " +
                                            std::to_string(kMaxTimeoutSeconds) + " seconds, got " + std::to_string(seconds));
  return Duration(seconds * 1000);
}

// A map of strings (metadata, envVars); `what` names the field in errors.
std::map<std::string, std::string> string_map(const json::object& body, const char* what) {
  std::map<std::string, std::string> map;
  const json::value* value = body.if_contains(what);
  if (value == nullptr || value->is_null()) return map;
  if (!value->is_object()) throw Error(Errc::invalid_argument, std::string("field '") + what + "': expected an object of strings");
  for (const auto& [key, item] : value->as_object()) {
    if (!item.is_string())
      throw Error(Errc::invalid_argument, std::string("field '") + what + "." + std::string(key) + "': expected a string");
    map[std::string(key)] = std::string(item.as_string());
  }
  return map;
}

OwnedSandbox sandbox_for(E2b& e2b, Context& context) {
  OwnedSandbox owned = e2b.service().find(context.caller, context.request().params.at("id"));
  // An expired or stopped sandbox is gone as far as E2B is concerned (its timeout killed it),
  // but for one stopped by a filesystem-only auto-pause (lifecycle.hpp).
  if (!alive_for_e2b(e2b.service().info(owned)))
    throw Error(Errc::not_found, "sandbox '" + owned.handle->id() + "' has ended");
  return owned;
}

// POST /sandboxes, /v2/sandboxes: E2B's fields as a CreateRequest (sandbox_creation.hpp), so an
// E2B create follows /v1's rules (caps, pools, labels, events, metrics). A template mapped to
// a pool hands out one of its ready sandboxes with the envs, metadata and timeout applied.
void create(E2b& e2b, Context& context) {
  const json::object body = read_body(context);
  const json::value* tmpl = body.if_contains("templateID");
  if (tmpl == nullptr || !tmpl->is_string() || tmpl->as_string().empty())
    throw Error(Errc::invalid_argument, "field 'templateID': required (E2B's default template is 'base')");
  const std::string template_id(tmpl->as_string());
  if (const json::value* mounts = body.if_contains("volumeMounts"); mounts && mounts->is_array() && !mounts->as_array().empty())
    throw Error(Errc::unsupported, "field 'volumeMounts': E2B volumes live in E2B's cloud; hutch serves none");
  if (const json::value* mcp = body.if_contains("mcp"); mcp && !mcp->is_null())
    throw Error(Errc::unsupported, "field 'mcp': the MCP gateway template is E2B's; hutch has none");
  CreateRequest request;
  request.labels_field = "metadata";
  if (!e2b.is_template(template_id) && e2b.service().find_snapshot_backend(context.caller, template_id)) {
    request.snapshot = template_id;  // Sandbox.create(snapshotId): the snapshot's backend restores it
  } else {
    const E2bTemplate chosen = e2b.template_of(template_id);
    if (chosen.pool.empty()) request.spec.image = chosen.image;
    else request.pool = chosen.pool;
  }
  for (const auto& [key, value] : string_map(body, "metadata")) {
    if (key.rfind(kLabelPrefix, 0) == 0)
      throw Error(Errc::invalid_argument, "field 'metadata." + key + "': keys beginning '" + kLabelPrefix + "' are hutch's own");
    request.spec.labels[key] = value;
  }
  request.surface_labels[kLabelTemplate] = template_id;
  for (const auto& [key, value] : string_map(body, "envVars")) request.spec.env[key] = value;
  const Duration timeout = timeout_field(body, "timeout").value_or(Duration(kDefaultTimeoutSeconds * 1000));
  const Lifecycle lifecycle = lifecycle_field(body, timeout);
  for (auto& [key, value] : lifecycle_labels(lifecycle)) request.surface_labels[key] = value;
  // A timeout that pauses is this layer's (AutoPause); the backend's ttl would end the sandbox.
  if (!lifecycle.pause_on_timeout) request.spec.ttl = timeout;
  OwnedSandbox owned = create_sandbox_for(e2b.service(), context.caller, std::move(request));
  if (lifecycle.pause_on_timeout) e2b.apply_timeout(owned, timeout);
  try {
    e2b.ensure_default_user(*owned.handle);
  } catch (const Error&) {
    e2b.service().remove(owned);
    throw;
  }
  respond(context, 201, created_json(e2b, owned));
}

// GET /sandboxes and /v2/sandboxes: ?metadata=k%3Dv%26k2%3Dv2 (URL-encoded pairs), ?state=running,paused.
std::string percent_decode(std::string_view text) {
  std::string out;
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '%' && i + 2 < text.size() + 0 && std::isxdigit(static_cast<unsigned char>(text[i + 1])) &&
        std::isxdigit(static_cast<unsigned char>(text[i + 2]))) {
      out += static_cast<char>(std::stoi(std::string(text.substr(i + 1, 2)), nullptr, 16));
      i += 2;
    } else {
      out += text[i] == '+' ? ' ' : text[i];
    }
  }
  return out;
}

void list(E2b& e2b, Context& context) {
  const Caller& caller = context.caller;
  Filter filter;
  filter.labels[kLabelService] = e2b.service().instance_id();
  if (auto metadata = context.request().query_value("metadata")) {
    std::string_view rest = *metadata;
    while (!rest.empty()) {
      const std::string_view pair = rest.substr(0, rest.find('&'));
      rest = pair.size() < rest.size() ? rest.substr(pair.size() + 1) : std::string_view{};
      const auto equals = pair.find('=');
      if (equals == std::string_view::npos || equals == 0)
        throw Error(Errc::invalid_argument, "query parameter 'metadata': expected key=value pairs, got '" + *metadata + "'");
      // The SDK encodes each key and value, then the pairs as a query string: decoded twice.
      filter.labels[percent_decode(percent_decode(pair.substr(0, equals)))] = percent_decode(percent_decode(pair.substr(equals + 1)));
    }
  }
  bool want_running = true, want_paused = true;
  if (auto states = context.request().query_values("state"); !states.empty()) {
    want_running = want_paused = false;
    for (const std::string& value : states) {
      std::string_view rest = value;
      while (!rest.empty()) {
        const std::string_view state = rest.substr(0, rest.find(','));
        rest = state.size() < rest.size() ? rest.substr(state.size() + 1) : std::string_view{};
        if (state == "running") want_running = true;
        else if (state == "paused") want_paused = true;
        else throw Error(Errc::invalid_argument, "query parameter 'state': expected running or paused, got '" + std::string(state) + "'");
      }
    }
  }
  json::array sandboxes;
  for (const SandboxInfo& info : e2b.service().list(caller, std::move(filter))) {
    if (!alive_for_e2b(info) || (paused_for_e2b(info) ? !want_paused : !want_running)) continue;
    sandboxes.push_back(sandbox_json(e2b, info));
  }
  respond(context, 200, sandboxes);
}

void get(E2b& e2b, Context& context) { respond(context, 200, sandbox_json(e2b, e2b.service().info(sandbox_for(e2b, context)))); }

// An ended sandbox (its timeout passed) is removed too, and answered 404 as E2B does for it:
// nothing else in E2B's API would ever remove it.
void kill(E2b& e2b, Context& context) {
  OwnedSandbox owned = e2b.service().find(context.caller, context.request().params.at("id"));
  const bool ended = !alive_for_e2b(e2b.service().info(owned));
  e2b.service().remove(owned);
  e2b.forget(owned.handle->id());
  if (ended) throw Error(Errc::not_found, "sandbox '" + owned.handle->id() + "' had ended; it is removed now");
  context.exchange.respond(204, "application/json", "");
}

void set_timeout(E2b& e2b, Context& context, const char* field) {
  const json::object body = read_body(context);
  const auto timeout = timeout_field(body, field);
  if (!timeout) throw Error(Errc::invalid_argument, std::string("field '") + field + "': required (seconds)");
  e2b.apply_timeout(sandbox_for(e2b, context), *timeout);
  context.exchange.respond(204, "application/json", "");
}

void pause(E2b& e2b, Context& context) {
  OwnedSandbox owned = sandbox_for(e2b, context);
  if (paused_for_e2b(e2b.service().info(owned)))
    throw Error(Errc::state, "sandbox '" + owned.handle->id() + "' is already paused");
  owned.handle->pause();
  e2b.disarm_timeout(owned.handle->id());
  e2b.service().announce("paused", owned);
  context.exchange.respond(204, "application/json", "");
}

// resume and connect: a paused sandbox runs again (201), a running one is answered as it is
// (200, connect only); a timeout in the body counts from now (E2b::resume).
void resume(E2b& e2b, Context& context, bool connect) {
  const json::object body = read_body(context);
  const auto timeout = timeout_field(body, "timeout");
  OwnedSandbox owned = sandbox_for(e2b, context);
  const bool resumed = e2b.resume(owned, timeout);
  if (!resumed && !connect) throw Error(Errc::state, "sandbox '" + owned.handle->id() + "' is not paused");
  if (!resumed && timeout) e2b.apply_timeout(owned, *timeout);
  respond(context, resumed ? 201 : 200, created_json(e2b, owned));
}

void metrics(E2b& e2b, Context& context) {
  OwnedSandbox owned = sandbox_for(e2b, context);
  const Stats stats = owned.handle->stats();
  json::object metric;
  metric["timestamp"] = json_io::format_time(std::chrono::system_clock::now());
  metric["timestampUnix"] = std::chrono::duration_cast<std::chrono::seconds>(
                                std::chrono::system_clock::now().time_since_epoch()).count();
  metric["cpuCount"] = 1;
  metric["cpuUsedPct"] = stats.cpu_percent;
  metric["memUsed"] = stats.memory_bytes;
  metric["memTotal"] = stats.memory_limit_bytes.value_or(0);
  metric["memCache"] = 0;
  metric["diskUsed"] = 0;
  metric["diskTotal"] = 0;
  respond(context, 200, json::array{metric});
}

// POST /sandboxes/{id}/fork {"count": N, "timeout": seconds}: N copies of the sandbox
// (Handle::fork), each answered as E2B's SandboxForkResult, a sandbox or the error that stopped
// it. A fork lives `timeout` seconds (E2B's default: 15) and has its own envd access token.
void fork_sandbox(E2b& e2b, Context& context) {
  const json::object body = read_body(context);
  const Duration timeout = timeout_field(body, "timeout").value_or(Duration(kDefaultForkTimeoutSeconds * 1000));
  std::int64_t count = 1;
  if (const json::value* value = body.if_contains("count"); value && !value->is_null()) {
    if (!value->is_int64() || value->as_int64() < 1 || value->as_int64() > kMaxForks)
      throw Error(Errc::invalid_argument, "field 'count': expected 1 to " + std::to_string(kMaxForks) + " forks");
    count = value->as_int64();
  }
  OwnedSandbox parent = sandbox_for(e2b, context);
  if (!parent.backend->capabilities().fork)
    throw Error(Errc::unsupported, "sandbox '" + parent.handle->id() + "': backend '" + parent.backend->name() +
                                       "' cannot fork sandboxes (its capabilities say no)");
  json::array results;
  for (std::int64_t i = 0; i < count; ++i) {
    try {
      OwnedSandbox copy = fork_sandbox_for(e2b.service(), context.caller, parent);
      e2b.apply_timeout(copy, timeout);
      results.push_back(json::object{{"sandbox", created_json(e2b, copy)}});
    } catch (const Error& error) {
      results.push_back(json::object{{"error", error_json(error)}});
    }
  }
  respond(context, 201, results);
}

// E2B's SnapshotInfo: the id Sandbox.create takes as a template, and the snapshot's name.
json::object snapshot_json(const SnapshotInfo& snapshot) {
  json::array names;
  if (!snapshot.label.empty()) names.push_back(json::value(snapshot.label));
  return json::object{{"snapshotID", snapshot.id}, {"names", std::move(names)}};
}

// POST /sandboxes/{id}/snapshots {"name": …}: the sandbox's filesystem as a snapshot (the name
// is its label); the sandbox runs on.
void take_snapshot(E2b& e2b, Context& context) {
  const json::object body = read_body(context);
  std::string name;
  if (const json::value* value = body.if_contains("name"); value && !value->is_null()) {
    if (!value->is_string()) throw Error(Errc::invalid_argument, "field 'name': expected a string");
    name = std::string(value->as_string());
  }
  const SnapshotInfo snapshot = snapshot_sandbox_for(e2b.service(), context.caller, sandbox_for(e2b, context), name);
  respond(context, 201, snapshot_json(snapshot));
}

// GET /snapshots?sandboxID=&name=&limit=&nextToken=: the caller's snapshots, oldest first; a
// page ends with X-Next-Token naming the id the next page starts at.
void snapshot_page(E2b& e2b, Context& context) {
  const auto& request = context.request();
  const auto sandbox_id = request.query_value("sandboxID");
  const auto name = request.query_value("name");
  std::size_t limit = kMaxSnapshotPage;
  if (const auto text = request.query_value("limit")) {
    char* end = nullptr;
    const unsigned long value = std::strtoul(text->c_str(), &end, 10);
    if (text->empty() || *end != '\0' || value < 1 || value > kMaxSnapshotPage)
      throw Error(Errc::invalid_argument, "query parameter 'limit': expected 1 to " + std::to_string(kMaxSnapshotPage) + ", got '" + *text + "'");
    limit = value;
  }
  std::vector<SnapshotInfo> matching;
  for (SnapshotInfo& snapshot : snapshots_for(e2b.service(), context.caller))
    if ((!sandbox_id || snapshot.source_sandbox == *sandbox_id) && (!name || snapshot.label == *name || snapshot.id == *name))
      matching.push_back(std::move(snapshot));
  auto first = matching.begin();
  if (const auto token = request.query_value("nextToken")) {
    first = std::find_if(matching.begin(), matching.end(), [&](const SnapshotInfo& s) { return s.id == *token; });
    if (first == matching.end())
      throw Error(Errc::invalid_argument, "query parameter 'nextToken': no snapshot '" + *token + "' (removed since the last page?)");
  }
  json::array page;
  for (auto at = first; at != matching.end() && page.size() < limit; ++at) page.push_back(snapshot_json(*at));
  Headers headers;
  if (const auto next = first + static_cast<std::ptrdiff_t>(page.size()); next != matching.end()) headers.emplace_back("X-Next-Token", next->id);
  context.exchange.respond(200, "application/json", json::serialize(page), headers);
}

// DELETE /templates/{id}: the SDK's Sandbox.deleteSnapshot. A snapshot the caller may see is
// removed; a template of [serve.e2b.templates] is the configuration's, not the API's.
void delete_template(E2b& e2b, Context& context) {
  const std::string& id = context.request().params.at("id");
  if (e2b.is_template(id))
    throw Error(Errc::unsupported, "template '" + id + "' is mapped in [serve.e2b.templates]; hutch builds and removes no E2B templates");
  e2b.service().snapshot_backend(context.caller, id).delete_snapshot(id);  // not_found unless the caller may see it
  context.exchange.respond(204, "application/json", "");
}

// A route of E2B's API that needs E2B's cloud.
Handler refuse(const std::shared_ptr<E2b>& e2b, std::string feature) {
  return rest_handler(e2b, [feature = std::move(feature)](E2b& self, Context& context) {
    self.admit_api_caller(context);
    throw Error(Errc::unsupported, feature + " need E2B's cloud; hutch serves sandboxes from its own backends' images "
                                             "(map template ids to images in [serve.e2b.templates])");
  });
}

}  // namespace

void add_control_plane_routes(Router& router, const std::shared_ptr<E2b>& e2b) {
  // X-API-Key is checked here (the router's Authorization does not apply), with the request caps.
  auto add = [&](const char* method, const char* pattern, std::function<void(E2b&, Context&)> body) {
    router.add(method, pattern, rest_handler(e2b, [body = std::move(body)](E2b& self, Context& context) {
      self.admit_api_caller(context);
      body(self, context);
    }), /*open=*/true);
  };
  add("POST", "/e2b/sandboxes", create);
  add("POST", "/e2b/v2/sandboxes", create);
  add("GET", "/e2b/sandboxes", list);
  add("GET", "/e2b/v2/sandboxes", list);
  add("GET", "/e2b/sandboxes/{id}", get);
  add("DELETE", "/e2b/sandboxes/{id}", kill);
  add("POST", "/e2b/sandboxes/{id}/timeout", [](E2b& self, Context& context) { set_timeout(self, context, "timeout"); });
  add("POST", "/e2b/sandboxes/{id}/refreshes", [](E2b& self, Context& context) { set_timeout(self, context, "duration"); });
  add("POST", "/e2b/sandboxes/{id}/pause", pause);
  add("POST", "/e2b/sandboxes/{id}/resume", [](E2b& self, Context& context) { resume(self, context, false); });
  add("POST", "/e2b/sandboxes/{id}/connect", [](E2b& self, Context& context) { resume(self, context, true); });
  add("POST", "/e2b/v2/sandboxes/{id}/connect", [](E2b& self, Context& context) { resume(self, context, true); });
  add("GET", "/e2b/sandboxes/{id}/metrics", metrics);
  add("POST", "/e2b/sandboxes/{id}/snapshots", take_snapshot);
  add("POST", "/e2b/sandboxes/{id}/fork", fork_sandbox);
  add("GET", "/e2b/snapshots", snapshot_page);
  add("DELETE", "/e2b/templates/{id}", delete_template);

  router.add("PUT", "/e2b/sandboxes/{id}/network", refuse(e2b, "Network rules of E2B sandboxes"), true);
  router.add("POST", "/e2b/v3/templates", refuse(e2b, "Template builds"), true);
  router.add("POST", "/e2b/v2/templates/{id}/builds/{build}", refuse(e2b, "Template builds"), true);
  router.add("GET", "/e2b/templates/{id}/builds/{build}/status", refuse(e2b, "Template builds"), true);
  router.add("GET", "/e2b/templates/aliases/{alias}", refuse(e2b, "Template aliases"), true);
  router.add("GET", "/e2b/volumes", refuse(e2b, "Volumes"), true);
  router.add("POST", "/e2b/volumes", refuse(e2b, "Volumes"), true);
  router.add("GET", "/e2b/secrets", refuse(e2b, "Secrets"), true);
  router.add("POST", "/e2b/secrets", refuse(e2b, "Secrets"), true);
}

}  // namespace hutch::server::e2b
