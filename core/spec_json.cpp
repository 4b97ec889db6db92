// SandboxSpec <-> JSON (moved here from backends/docker so both backends share it).
#include <hutch/spec_json.hpp>

#include <hutch/error.hpp>
#include <hutch/spec.hpp>

#include <boost/json.hpp>

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

// The limit `key`: a number, or "unlimited"; `key`_defaulted says it is the safe default.
template <class Number>
void read_limit(const json::object& object, const std::string& key, std::optional<Number>& value, bool& unlimited,
                bool& defaulted) {
  if (auto* v = object.if_contains(key)) {
    if (v->is_string() && is_unlimited(v->as_string()))
      unlimited = true;
    else
      value = json::value_to<Number>(*v);
  }
  if (auto* v = object.if_contains(key + "_defaulted")) defaulted = v->as_bool();
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
  for (auto port : spec.ports) ports.push_back(port);
  object["ports"] = std::move(ports);
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

SandboxSpec spec_from_json(const std::string& text) {
  try {
    auto parsed = json::parse(text);
    const auto& object = parsed.as_object();
    SandboxSpec spec;
    spec.image = read_string(object, "image");
    spec.env = read_string_map(object.if_contains("env"));
    spec.workdir = read_string(object, "workdir");
    spec.user = read_string(object, "user");
    if (auto* mounts = object.if_contains("mounts"); mounts && mounts->is_array()) {
      for (const auto& item : mounts->as_array()) {
        const auto& m = item.as_object();
        Mount mount;
        mount.type = parse_mount_type(read_string(m, "type"));
        mount.source = read_string(m, "source");
        mount.target = read_string(m, "target");
        mount.read_only = m.at("read_only").as_bool();
        mount.kind = static_cast<MountKind>(json::value_to<int>(m.at("kind")));
        mount.subpath = read_string(m, "subpath");
        if (auto* size = m.if_contains("tmpfs_size")) mount.tmpfs_size_bytes = json::value_to<std::uint64_t>(*size);
        if (auto* idmap = m.if_contains("idmap")) {
          const auto& a = idmap->as_array();
          mount.idmap = IdMap{json::value_to<std::uint32_t>(a.at(0)), json::value_to<std::uint32_t>(a.at(1)),
                              json::value_to<std::uint32_t>(a.at(2))};
        }
        spec.mounts.push_back(std::move(mount));
      }
    }
    Limits& limits = spec.limits;
    read_limit(object, "memory", limits.memory_bytes, limits.memory_unlimited, limits.memory_defaulted);
    if (auto* v = object.if_contains("cpus")) limits.cpus = json::value_to<double>(*v);
    read_limit(object, "pids", limits.pids, limits.pids_unlimited, limits.pids_defaulted);
    spec.network = parse_network_mode(read_string(object, "network"));
    spec.labels = read_string_map(object.if_contains("labels"));
    if (auto* v = object.if_contains("ttl_ms")) spec.ttl = Duration(json::value_to<std::int64_t>(*v));
    if (auto* v = object.if_contains("idle_timeout_ms"))
      spec.idle_timeout = Duration(json::value_to<std::int64_t>(*v));
    if (auto* v = object.if_contains("stop_grace_ms")) spec.stop_grace = Duration(json::value_to<std::int64_t>(*v));
    if (auto* v = object.if_contains("read_only_root")) spec.read_only_root = v->as_bool();
    if (auto* v = object.if_contains("detached")) spec.detached = v->as_bool();
    if (auto* v = object.if_contains("ephemeral")) spec.ephemeral = v->as_bool();
    if (auto* ports = object.if_contains("ports"); ports && ports->is_array())
      for (const auto& port : ports->as_array()) spec.ports.push_back(json::value_to<std::uint16_t>(port));
    if (auto* files = object.if_contains("files"); files && files->is_array()) {
      for (const auto& item : files->as_array()) {
        const auto& f = item.as_object();
        SandboxFile file;
        file.path = read_string(f, "path");
        file.content = read_string(f, "content");
        file.source = read_string(f, "source");
        file.owner = read_string(f, "owner");
        if (auto* mode = f.if_contains("mode")) file.mode = json::value_to<std::uint32_t>(*mode);
        spec.files.push_back(std::move(file));
      }
    }
    if (auto* v = object.if_contains("max_file_bytes")) spec.max_file_bytes = json::value_to<std::uint64_t>(*v);
    spec.workspace = read_string(object, "workspace");
    if (auto* entrypoint = object.if_contains("entrypoint")) spec.entrypoint = read_string_array(entrypoint);
    return spec;
  } catch (const Error&) {
    throw;
  } catch (const std::exception& e) {
    throw Error(Errc::backend, std::string("not a valid hutch spec (JSON): ") + e.what());
  }
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
