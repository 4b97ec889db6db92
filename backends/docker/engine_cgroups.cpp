#include "engine_cgroups.hpp"

#include <hutch/error.hpp>
#include <hutch/spec.hpp>

#include <sys/stat.h>

namespace hutch::docker {

namespace json = boost::json;

namespace {

bool is_true(const json::object& info, std::string_view key) {
  const json::value* value = info.if_contains(key);
  return value != nullptr && value->is_bool() && value->as_bool();
}

bool is_false(const json::object& info, std::string_view key) {
  const json::value* value = info.if_contains(key);
  return value != nullptr && value->is_bool() && !value->as_bool();
}

bool is_string(const json::object& info, std::string_view key, std::string_view text) {
  const json::value* value = info.if_contains(key);
  return value != nullptr && value->is_string() && value->as_string() == text;
}

}  // namespace

std::optional<std::string> cgroup_problem(const json::object& info) {
  // Podman says Rootless; dockerd's rootless mode shows as a "name=rootless" security option
  // and, on cgroup v1, as the cgroup driver "none".
  if (is_true(info, "Rootless") && is_string(info, "CgroupVersion", "1"))
    return "the engine runs rootless on cgroup v1 (/info: Rootless, CgroupVersion 1), where it ignores "
           "memory, pids and CPU limits and cannot pause containers";
  if (is_string(info, "CgroupDriver", "none"))
    return "the engine runs without a cgroup driver (/info: CgroupDriver none; rootless dockerd on cgroup v1)";
  if (is_false(info, "MemoryLimit") || is_false(info, "PidsLimit"))
    return "the engine reports no support for memory or pids limits (/info: MemoryLimit/PidsLimit false)";
  return std::nullopt;
}

Limits enforceable_limits(const Limits& limits, const std::optional<std::string>& problem) {
  if (!problem) return limits;
  const Limits asked = asked_limits(limits);
  if (asked.memory_bytes || asked.pids || asked.cpus)
    throw Error(Errc::unsupported, "docker: memory, pids and CPU limits cannot be enforced here: " + *problem +
                                       "; create the sandbox without --memory/--pids/--cpus, or run the engine "
                                       "rootful or on cgroup v2");
  return asked;
}

bool engine_may_be_rootless(const Endpoint& endpoint) {
  if (endpoint.kind != Endpoint::Kind::unix_socket) return true;
  struct stat socket_status {};
  return ::stat(endpoint.path.c_str(), &socket_status) == 0 && socket_status.st_uid != 0;
}

const std::optional<std::string>& EngineCgroupSupport::problem(EngineClient& client) {
  if (!consult_engine_) return problem_;
  std::call_once(read_, [&] {
    Request request;
    request.target = "/info";
    request.what = "read the engine's settings (/info)";
    const json::value info = client.call_json(request);
    if (info.is_object()) problem_ = cgroup_problem(info.as_object());
  });
  return problem_;
}

}  // namespace hutch::docker
