// SandboxSpec <-> JSON (moved here from backends/docker so both backends share it).
#include <hutch/spec_json.hpp>

#include <hutch/error.hpp>
#include <hutch/spec.hpp>

#include <boost/json.hpp>

#include "json_io/object_reader.hpp"

#include <limits>

namespace hutch {
namespace json = boost::json;
namespace {

json::object string_map(const std::map<std::string, std::string>& map) {
  json::object object;
  for (const auto& [key, value] : map) object[key] = value;
  return object;
}

std::map<std::string, std::string> read_string_map(const json::value* value) {
  std::map<std::string, std::string> out;
  if (value == nullptr || !value->is_object()) return out;
  for (const auto& [key, item] : value->as_object())
    if (item.is_string()) out[std::string(key)] = std::string(item.as_string());
  return out;
}

std::string read_string(const json::object& object, const char* key) {
  auto* value = object.if_contains(key);
  return value != nullptr && value->is_string() ? std::string(value->as_string()) : std::string();
}

json::array string_array(const std::vector<std::string>& items) {
  json::array array;
  for (const auto& item : items) array.emplace_back(item);
  return array;
}

std::vector<std::string> read_string_array(const json::value* value) {
  std::vector<std::string> out;
  if (value == nullptr || !value->is_array()) return out;
  for (const auto& item : value->as_array())
    if (item.is_string()) out.emplace_back(item.as_string());
  return out;
}

json::array egress_array(const std::vector<EgressRule>& rules) {
  json::array egress;
  for (const auto& rule : rules)
    egress.push_back(json::object{{"action", to_string(rule.action)}, {"destination", rule.destination}});
  return egress;
}

// A mapping with nothing but its sandbox port given (127.0.0.1, a free host port, tcp) is
// written as that port alone: the form the API had before mappings, which older readers take.
json::value port_json(const PortMapping& mapping) {
  if (mapping == PortMapping{.sandbox_port = mapping.sandbox_port}) return mapping.sandbox_port;
  return json::object{{"host_ip", mapping.host_ip},
                      {"host_port", mapping.host_port},
                      {"sandbox_port", mapping.sandbox_port},
                      {"protocol", to_string(mapping.protocol)}};
}

}  // namespace

std::string spec_to_json(const SandboxSpec& spec) {
  json::object object;
  object["image"] = spec.image;
  object["env"] = string_map(spec.env);
  object["workdir"] = spec.workdir;
  object["user"] = spec.user;
  json::array mounts;
  for (const auto& mount : spec.mounts) {
    json::object m;
    m["type"] = to_string(mount.type);
    m["source"] = mount.source;
    m["target"] = mount.target;
    m["read_only"] = mount.read_only;
    m["kind"] = static_cast<int>(mount.kind);
    m["subpath"] = mount.subpath;
    if (mount.tmpfs_size_bytes) m["tmpfs_size"] = *mount.tmpfs_size_bytes;
    if (mount.idmap) m["idmap"] = json::array{mount.idmap->from, mount.idmap->to, mount.idmap->range};
    mounts.push_back(std::move(m));
  }
  object["mounts"] = std::move(mounts);
  if (spec.limits.memory_bytes) object["memory"] = *spec.limits.memory_bytes;
  if (spec.limits.memory_unlimited) object["memory"] = "unlimited";
  if (spec.limits.memory_defaulted) object["memory_defaulted"] = true;
  if (spec.limits.cpus) object["cpus"] = *spec.limits.cpus;
  if (spec.limits.pids) object["pids"] = *spec.limits.pids;
  if (spec.limits.pids_unlimited) object["pids"] = "unlimited";
  if (spec.limits.pids_defaulted) object["pids_defaulted"] = true;
  object["network"] = to_string(spec.network);
  object["labels"] = string_map(spec.labels);
  if (spec.ttl) object["ttl_ms"] = spec.ttl->count();
  if (spec.idle_timeout) object["idle_timeout_ms"] = spec.idle_timeout->count();
  if (spec.stop_grace) object["stop_grace_ms"] = spec.stop_grace->count();
  object["read_only_root"] = spec.read_only_root;
  object["detached"] = spec.detached;
  object["ephemeral"] = spec.ephemeral;
  json::array ports;
  for (const auto& port : spec.ports) ports.push_back(port_json(port));
  object["ports"] = std::move(ports);
  if (!spec.egress.empty()) object["egress"] = egress_array(spec.egress);
  json::array files;
  for (const auto& file : spec.files) {
    json::object f{{"path", file.path}, {"mode", file.mode}};
    if (!file.content.empty()) f["content"] = file.content;
    if (!file.source.empty()) f["source"] = file.source;
    if (!file.owner.empty()) f["owner"] = file.owner;
    files.push_back(std::move(f));
  }
  if (!files.empty()) object["files"] = std::move(files);
  if (spec.max_file_bytes) object["max_file_bytes"] = *spec.max_file_bytes;
  if (!spec.workspace.empty()) object["workspace"] = spec.workspace;
  if (spec.entrypoint) object["entrypoint"] = string_array(*spec.entrypoint);
  return json::serialize(object);
}

namespace {

// A value parsed by `parse` from the text of field `key`, its error rethrown naming the field.
template <class Parse>
auto parsed_field(const json_io::ObjectReader& object, const std::string& key, const std::string& text, Parse parse) {
  try {
    return parse(text);
  } catch (const Error& error) {
    object.fail(key, error.what());
  }
}

// The limit `key`: a number, or "unlimited"; `key`_defaulted says it is the safe default.
template <class Number>
void read_limit(const json_io::ObjectReader& object, const std::string& key, std::int64_t max,
                std::optional<Number>& value, bool& unlimited, bool& defaulted) {
  if (const json::value* v = object.find(key)) {
    if (v->is_string()) {
      if (!is_unlimited(v->as_string())) object.fail(key, "expected a number or \"unlimited\"");
      unlimited = true;
    } else {
      value = static_cast<Number>(json_io::ObjectReader::integer_value(*v, object.field(key), 0, max, object.code()));
    }
  }
  if (auto flag = object.boolean(key + "_defaulted")) defaulted = *flag;
}

std::optional<Duration> read_ms(const json_io::ObjectReader& object, const std::string& key) {
  if (auto ms = object.integer(key, 0)) return Duration(*ms);
  return std::nullopt;
}

Mount read_mount(const json_io::ObjectReader& m, bool strict) {
  Mount mount;
  mount.type = parsed_field(m, "type", m.string("type").value_or(""), parse_mount_type);
  mount.source = m.string("source").value_or("");
  mount.target = m.string("target").value_or("");
  mount.read_only = m.boolean("read_only").value_or(false);
  mount.kind = static_cast<MountKind>(m.integer("kind", 0, 2).value_or(0));
  mount.subpath = m.string("subpath").value_or("");
  mount.tmpfs_size_bytes = m.unsigned_integer("tmpfs_size");
  if (const json::array* idmap = m.array("idmap")) {
    if (idmap->size() != 3) m.fail("idmap", "expected [from, to, range]");
    auto id = [&](std::size_t i) {
      return static_cast<std::uint32_t>(json_io::ObjectReader::integer_value(
          (*idmap)[i], m.field("idmap") + "[" + std::to_string(i) + "]", 0, 0xFFFFFFFFLL, m.code()));
    };
    mount.idmap = IdMap{id(0), id(1), id(2)};
  }
  if (strict) m.reject_unknown();
  return mount;
}

// One entry of the spec's `files` manifest.
SandboxFile read_file(const json_io::ObjectReader& f, bool strict) {
  SandboxFile file;
  file.path = f.string("path").value_or("");
  file.content = f.string("content").value_or("");
  file.source = f.string("source").value_or("");
  file.owner = f.string("owner").value_or("");
  if (auto mode = f.integer("mode", 0, 07777)) file.mode = static_cast<std::uint32_t>(*mode);
  if (strict) f.reject_unknown();
  return file;
}

EgressRule read_egress_rule(const json_io::ObjectReader& r, bool strict) {
  EgressRule rule;
  rule.action = parsed_field(r, "action", r.string("action").value_or(""), parse_egress_action);
  rule.destination = r.string("destination").value_or("");
  if (strict) r.reject_unknown();
  return rule;
}

// One entry of "ports": a sandbox port alone (published on a free port of 127.0.0.1, tcp), or
// a mapping object whose fields default the same way.
PortMapping read_port(const json::value& value, const std::string& field, bool strict, Errc code) {
  PortMapping mapping;
  if (!value.is_object()) {
    mapping.sandbox_port = static_cast<std::uint16_t>(json_io::ObjectReader::integer_value(value, field, 1, 65535, code));
    return mapping;
  }
  const auto m = json_io::ObjectReader::of(value, field, code);
  mapping.host_ip = m.string("host_ip").value_or(mapping.host_ip);
  mapping.host_port = static_cast<std::uint16_t>(m.integer("host_port", 0, 65535).value_or(0));
  const auto sandbox_port = m.integer("sandbox_port", 1, 65535);
  if (!sandbox_port) m.fail("sandbox_port", "missing: the port inside the sandbox (1 to 65535)");
  mapping.sandbox_port = static_cast<std::uint16_t>(*sandbox_port);
  mapping.protocol = parsed_field(m, "protocol", m.string("protocol").value_or("tcp"), parse_port_protocol);
  if (strict) m.reject_unknown();
  return mapping;
}

// The "egress" array of `object` (a spec, or a PATCH's body), absent: none.
std::vector<EgressRule> read_egress(const json_io::ObjectReader& object, bool strict, Errc code) {
  std::vector<EgressRule> rules;
  if (const json::array* egress = object.array("egress"))
    for (std::size_t i = 0; i < egress->size(); ++i)
      rules.push_back(read_egress_rule(
          json_io::ObjectReader::of((*egress)[i], "egress[" + std::to_string(i) + "]", code), strict));
  return rules;
}

// The one reader of the spec's JSON form; `strict` refuses fields it does not know.
SandboxSpec read_spec(const json::value& document, bool strict, Errc code) {
  const auto object = json_io::ObjectReader::of(document, "", code);
  SandboxSpec spec;
  spec.image = object.string("image").value_or("");
  spec.env = object.string_map("env").value_or(Env{});
  spec.workdir = object.string("workdir").value_or("");
  spec.user = object.string("user").value_or("");
  if (const json::array* mounts = object.array("mounts")) {
    for (std::size_t i = 0; i < mounts->size(); ++i)
      spec.mounts.push_back(
          read_mount(json_io::ObjectReader::of((*mounts)[i], "mounts[" + std::to_string(i) + "]", code), strict));
  }
  Limits& limits = spec.limits;
  read_limit(object, "memory", std::numeric_limits<std::int64_t>::max(), limits.memory_bytes, limits.memory_unlimited,
             limits.memory_defaulted);
  limits.cpus = object.number("cpus");
  read_limit(object, "pids", 0xFFFFFFFFLL, limits.pids, limits.pids_unlimited, limits.pids_defaulted);
  spec.network = parsed_field(object, "network", object.string("network").value_or("none"), parse_network_mode);
  spec.labels = object.string_map("labels").value_or(Labels{});
  spec.ttl = read_ms(object, "ttl_ms");
  spec.idle_timeout = read_ms(object, "idle_timeout_ms");
  spec.stop_grace = read_ms(object, "stop_grace_ms");
  spec.read_only_root = object.boolean("read_only_root").value_or(false);
  spec.detached = object.boolean("detached").value_or(false);
  spec.ephemeral = object.boolean("ephemeral").value_or(false);
  if (const json::array* ports = object.array("ports"))
    for (std::size_t i = 0; i < ports->size(); ++i)
      spec.ports.push_back(read_port((*ports)[i], object.field("ports") + "[" + std::to_string(i) + "]", strict, code));
  spec.egress = read_egress(object, strict, code);
  if (const json::array* files = object.array("files"))
    for (std::size_t i = 0; i < files->size(); ++i)
      spec.files.push_back(
          read_file(json_io::ObjectReader::of((*files)[i], "files[" + std::to_string(i) + "]", code), strict));
  spec.max_file_bytes = object.unsigned_integer("max_file_bytes");
  spec.workspace = object.string("workspace").value_or("");
  spec.entrypoint = object.string_array("entrypoint");
  if (strict) object.reject_unknown();
  return spec;
}

}  // namespace

SandboxSpec spec_from_json(const std::string& text) {
  try {
    return read_spec(json::parse(text), false, Errc::backend);
  } catch (const Error& error) {
    throw Error(Errc::backend, std::string("not a valid hutch spec (JSON): ") + error.what());
  } catch (const std::exception& e) {
    throw Error(Errc::backend, std::string("not a valid hutch spec (JSON): ") + e.what());
  }
}

SandboxSpec spec_from_request_json(const std::string& text) {
  boost::system::error_code ec;
  json::value document = json::parse(text, ec);
  if (ec) throw Error(Errc::invalid_argument, "the spec is not valid JSON: " + ec.message());
  return read_spec(document, true, Errc::invalid_argument);
}

std::string egress_to_json(const std::vector<EgressRule>& rules) { return json::serialize(egress_array(rules)); }

std::vector<EgressRule> egress_from_request_json(const std::string& text) {
  boost::system::error_code ec;
  json::value document = json::parse(text, ec);
  if (ec) throw Error(Errc::invalid_argument, "field 'egress': not valid JSON: " + ec.message());
  // Read as the spec's own "egress" field, so the errors name the same fields.
  const json::object holder{{"egress", std::move(document)}};
  return read_egress(json_io::ObjectReader::of(holder, "", Errc::invalid_argument), true, Errc::invalid_argument);
}

std::string defaults_to_json(const ImageDefaults& defaults) {
  json::object object;
  object["entrypoint"] = string_array(defaults.entrypoint);
  object["cmd"] = string_array(defaults.cmd);
  object["env"] = string_map(defaults.env);
  object["workdir"] = defaults.workdir;
  object["user"] = defaults.user;
  return json::serialize(object);
}

ImageDefaults defaults_from_json(const std::string& text) {
  boost::system::error_code ec;
  auto parsed = json::parse(text, ec);
  if (ec || !parsed.is_object())
    throw Error(Errc::backend, "not valid image defaults (JSON): " + (ec ? ec.message() : std::string("not an object")));
  const auto& object = parsed.as_object();
  ImageDefaults defaults;
  defaults.entrypoint = read_string_array(object.if_contains("entrypoint"));
  defaults.cmd = read_string_array(object.if_contains("cmd"));
  defaults.env = read_string_map(object.if_contains("env"));
  defaults.workdir = read_string(object, "workdir");
  defaults.user = read_string(object, "user");
  return defaults;
}

}  // namespace hutch
