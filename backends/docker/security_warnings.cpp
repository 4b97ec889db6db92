#include "security_warnings.hpp"

namespace hutch::docker {

namespace json = boost::json;

namespace {

bool runs_in_user_namespace(const json::object& info) {
  // Rootless Podman lists no security option for it; its /info says Rootless.
  if (const json::value* rootless = info.if_contains("Rootless"); rootless != nullptr && rootless->is_bool() &&
                                                                   rootless->as_bool())
    return true;
  const json::value* options = info.if_contains("SecurityOptions");
  if (options == nullptr || !options->is_array()) return false;
  for (const auto& option : options->as_array()) {
    if (!option.is_string()) continue;
    const std::string_view text = option.as_string();
    // Each entry is "name=<option>[,key=value...]".
    if (text == "name=userns" || text.starts_with("name=userns,") || text == "name=rootless" ||
        text.starts_with("name=rootless,"))
      return true;
  }
  return false;
}

}  // namespace

std::vector<std::string> security_warnings(const json::object& info, bool agent_in_use, bool own_seccomp_profile) {
  std::vector<std::string> warnings;
  if (!runs_in_user_namespace(info))
    warnings.push_back(
        "the Docker engine runs containers without user namespaces: root in a sandbox is host root to the "
        "kernel's per-user quotas, so a sandbox can use up host root's inotify/fanotify instances and make root "
        "programs on the host fail; enable userns-remap (\"userns-remap\": \"default\" in "
        "/etc/docker/daemon.json, then restart dockerd)");
  if (!agent_in_use && !own_seccomp_profile)
    warnings.push_back(
        "commands run through the Docker exec API (agent = \"off\", or no local hutch-agent) get only Docker's "
        "default seccomp profile, which allows io_uring and vsock sockets; use the agent or set seccomp_profile");
  return warnings;
}

}  // namespace hutch::docker
