#include "sandbox_record.hpp"

#include "agent/host_file.hpp"

#include <hutch/error.hpp>
#include <hutch/spec_json.hpp>

#include "values_json.hpp"

#include <boost/json.hpp>

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <fstream>
#include <sstream>

namespace hutch::subcontainer {
namespace json = boost::json;
namespace {

json::array strings(const std::vector<std::string>& values) {
  json::array out;
  for (const auto& v : values) out.emplace_back(v);
  return out;
}

std::vector<std::string> read_strings(const json::value& value) {
  std::vector<std::string> out;
  for (const auto& item : value.as_array()) out.emplace_back(item.as_string());
  return out;
}

}  // namespace

void write_sandbox_file(const std::filesystem::path& file, const std::string& text, const std::string& id) {
  // No fsync: the rename already keeps the file whole against a crash of hutch, and after a
  // crash of the host every sandbox is dead anyway (prune handles a damaged record). An fsync
  // costs a journal commit, on every create.
  agent::replace_host_file(file, text, id);
}

std::string read_image_pin(const SandboxPaths& paths) {
  std::ifstream in(paths.image_pin);
  std::string ref;
  std::getline(in, ref);
  return ref;
}

std::string read_expiry(const SandboxPaths& paths) {
  std::ifstream in(paths.expiry);
  std::string why;
  in >> why;
  return why;
}

SandboxPaths sandbox_paths(const std::filesystem::path& sandboxes_dir, const std::string& id) {
  SandboxPaths paths;
  paths.dir = sandboxes_dir / id;
  paths.root = paths.dir / "root";
  paths.upper = paths.dir / "upper";
  paths.work = paths.dir / "work";
  paths.socket = paths.dir / "ctl.sock";
  paths.record = paths.dir / "state.json";
  paths.plan = paths.dir / "plan";
  paths.image_pin = paths.dir / "image";
  paths.expiry = paths.dir / "expired";
  paths.record_lock = paths.dir / "record.lock";
  return paths;
}

void save_record(const std::filesystem::path& file, const SandboxRecord& record) {
  json::object object;
  object["id"] = record.id;
  object["spec"] = json::parse(spec_to_json(record.spec));
  object["image_ref"] = record.image_ref;
  object["image_env"] = strings(record.image_config.env);
  object["image_user"] = record.image_config.user;
  object["image_workdir"] = record.image_config.workdir;
  object["image_cmd"] = strings(record.image_config.cmd);
  object["image_entrypoint"] = strings(record.image_config.entrypoint);
  object["leader_pid"] = record.leader_pid;
  object["leader_start"] = record.leader_start;
  object["owner"] = record.owner;
  object["created_ms"] = record.created_ms;
  object["cgroup_version"] = record.cgroup_version;
  object["cgroup_dirs"] = strings(record.cgroup_dirs);
  object["root_uid"] = record.root_uid;
  object["root_gid"] = record.root_gid;
  object["id_count"] = record.id_count;
  object["stopped"] = record.stopped;
  object["ttl_deadline_ms"] = record.ttl_deadline_ms;
  object["idle_timeout_ms"] = record.idle_timeout_ms;
  if (!record.published.empty()) {
    json::array published;
    for (const auto& binding : record.published) published.push_back(json_io::to_json(binding));
    object["published"] = std::move(published);
  }
  if (record.forwarder_pid != 0) {
    object["forwarder_pid"] = record.forwarder_pid;
    object["forwarder_start"] = record.forwarder_start;
  }
  if (record.pasta_pid != 0) {
    object["pasta_pid"] = record.pasta_pid;
    object["pasta_start"] = record.pasta_start;
  }
  std::string text = json::serialize(object);

  write_sandbox_file(file, text, record.id);
}

SandboxRecord load_record(const std::filesystem::path& file, const std::string& id) {
  std::ifstream in(file);
  if (!in) throw Error(Errc::not_found, "no subcontainer sandbox '" + id + "' (no " + file.string() + ")");
  std::stringstream text;
  text << in.rdbuf();
  try {
    auto value = json::parse(text.str());
    const auto& o = value.as_object();
    SandboxRecord record;
    record.id = std::string(o.at("id").as_string());
    record.spec = spec_from_json(json::serialize(o.at("spec")));
    record.image_ref = std::string(o.at("image_ref").as_string());
    record.image_config.env = read_strings(o.at("image_env"));
    record.image_config.user = std::string(o.at("image_user").as_string());
    record.image_config.workdir = std::string(o.at("image_workdir").as_string());
    record.image_config.cmd = read_strings(o.at("image_cmd"));
    if (auto* entrypoint = o.if_contains("image_entrypoint")) record.image_config.entrypoint = read_strings(*entrypoint);
    record.leader_pid = json::value_to<pid_t>(o.at("leader_pid"));
    record.leader_start = json::value_to<std::uint64_t>(o.at("leader_start"));
    record.owner = std::string(o.at("owner").as_string());
    record.created_ms = json::value_to<std::int64_t>(o.at("created_ms"));
    record.cgroup_version = json::value_to<int>(o.at("cgroup_version"));
    record.cgroup_dirs = read_strings(o.at("cgroup_dirs"));
    record.root_uid = json::value_to<std::uint32_t>(o.at("root_uid"));
    record.root_gid = json::value_to<std::uint32_t>(o.at("root_gid"));
    record.id_count = json::value_to<std::uint32_t>(o.at("id_count"));
    if (auto* stopped = o.if_contains("stopped")) record.stopped = stopped->as_bool();
    // Records from before these fields: the spec's lifetimes.
    if (auto* v = o.if_contains("ttl_deadline_ms"))
      record.ttl_deadline_ms = json::value_to<std::int64_t>(*v);
    else if (record.spec.ttl)
      record.ttl_deadline_ms = record.created_ms + record.spec.ttl->count();
    if (auto* v = o.if_contains("idle_timeout_ms"))
      record.idle_timeout_ms = json::value_to<std::int64_t>(*v);
    else if (record.spec.idle_timeout)
      record.idle_timeout_ms = record.spec.idle_timeout->count();
    if (auto* v = o.if_contains("published"))
      for (const auto& binding : v->as_array()) record.published.push_back(json_io::port_binding_from_json(binding));
    if (auto* v = o.if_contains("forwarder_pid")) record.forwarder_pid = json::value_to<pid_t>(*v);
    if (auto* v = o.if_contains("forwarder_start")) record.forwarder_start = json::value_to<std::uint64_t>(*v);
    if (auto* v = o.if_contains("pasta_pid")) record.pasta_pid = json::value_to<pid_t>(*v);
    if (auto* v = o.if_contains("pasta_start")) record.pasta_start = json::value_to<std::uint64_t>(*v);
    return record;
  } catch (const std::exception& e) {
    throw Error(Errc::backend, "sandbox " + id + ": state file " + file.string() +
                                   " is damaged (" + e.what() + "); remove it with `hutch rm " + id + "`");
  }
}

bool leader_alive(const SandboxRecord& record) {
  return record.leader_pid > 0 && process_start_time(record.leader_pid) == record.leader_start;
}

}  // namespace hutch::subcontainer
