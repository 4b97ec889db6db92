#include "config.hpp"

#include "egress_config.hpp"

#include "base64.hpp"
#include "engine/client.hpp"
#include "engine/endpoint.hpp"

#include <hutch/error.hpp>
#include <hutch/registry.hpp>

#include <boost/json.hpp>

#include <fstream>
#include <sstream>

namespace hutch::docker {
namespace {

bool is_capability_name(const std::string& name) {
  if (name.empty()) return false;
  for (char c : name)
    if (!((c >= 'A' && c <= 'Z') || c == '_' || (c >= '0' && c <= '9'))) return false;
  return true;
}

}  // namespace

const char* to_string(PullPolicy policy) noexcept {
  switch (policy) {
    case PullPolicy::always: return "always";
    case PullPolicy::missing: return "missing";
    case PullPolicy::never: return "never";
  }
  return "missing";
}

const char* to_string(WorkspaceMode mode) noexcept {
  switch (mode) {
    case WorkspaceMode::none: return "none";
    case WorkspaceMode::ephemeral: return "ephemeral";
    case WorkspaceMode::persistent: return "persistent";
  }
  return "none";
}

const char* to_string(AgentMode mode) noexcept {
  switch (mode) {
    case AgentMode::automatic: return "auto";
    case AgentMode::on: return "on";
    case AgentMode::off: return "off";
  }
  return "auto";
}

AgentMode parse_agent_mode(const std::string& text) {
  if (text == "auto") return AgentMode::automatic;
  if (text == "on") return AgentMode::on;
  if (text == "off") return AgentMode::off;
  throw Error(Errc::invalid_argument, "agent mode '" + text + "' is not one of auto, on, off");
}

PullPolicy parse_pull_policy(const std::string& text) {
  if (text == "always") return PullPolicy::always;
  if (text == "missing") return PullPolicy::missing;
  if (text == "never") return PullPolicy::never;
  throw Error(Errc::invalid_argument, "pull policy '" + text + "' is not one of always, missing, never");
}

WorkspaceMode parse_workspace_mode(const std::string& text) {
  if (text == "none") return WorkspaceMode::none;
  if (text == "ephemeral") return WorkspaceMode::ephemeral;
  if (text == "persistent") return WorkspaceMode::persistent;
  throw Error(Errc::invalid_argument,
              "workspace mode '" + text + "' is not one of ephemeral, persistent, none");
}

std::string registry_auth_header(const RegistryAuth& auth) {
  boost::json::object object;
  if (!auth.identity_token.empty()) {
    object["identitytoken"] = auth.identity_token;
  } else {
    object["username"] = auth.username;
    object["password"] = auth.password;
  }
  if (!auth.server.empty()) object["serveraddress"] = auth.server;
  return base64_encode(boost::json::serialize(object), true);
}

DockerConfig DockerConfig::from_table(const ConfigTable& table, const std::function<void(const std::string&)>& warn) {
  DockerConfig config;
  // Turns an invalid_argument from a parse_* helper into a config error at the key.
  auto parse_at = [&](const std::string& key, auto&& parse) {
    try {
      return parse();
    } catch (const Error& e) {
      table.fail(key, e.what());
    }
  };
  config.endpoint.host = table.get_string("host");
  if (config.endpoint.host && config.endpoint.host->empty()) table.fail("host", "must not be empty");
  config.endpoint.tls_verify = table.get_bool("tls_verify");
  config.endpoint.cert_path = table.get_string("cert_path");
  if (config.endpoint.cert_path && (config.endpoint.cert_path->empty() || config.endpoint.cert_path->front() != '/'))
    table.fail("cert_path", "expected an absolute directory holding ca.pem, cert.pem and key.pem");
  if ((config.endpoint.tls_verify || config.endpoint.cert_path) && !config.endpoint.host)
    table.fail(config.endpoint.cert_path ? "cert_path" : "tls_verify",
               "applies to the configured host; set host too (or use DOCKER_TLS_VERIFY with DOCKER_HOST)");
  config.api_version = table.get_string("api_version");
  if (config.api_version) {
    const auto& v = *config.api_version;
    if (v.find('.') == std::string::npos || compare_api_versions(v, kMinApiVersion) < 0)
      table.fail("api_version", "expected a version like \"1.41\" (1.41 or newer), got \"" + v + "\"");
  }
  if (auto timeout = table.get_duration("request_timeout")) {
    if (timeout->count() <= 0) table.fail("request_timeout", "must be positive");
    config.request_timeout = *timeout;
  }
  if (auto pull = table.get_string("pull")) {
    config.pull = parse_at("pull", [&] { return parse_pull_policy(*pull); });
    config.pull_in_backend_table = true;
  }
  if (auto auth = table.get_table("registry_auth")) {
    RegistryAuth value;
    value.username = auth->get_string("username").value_or("");
    value.password = auth->get_string("password").value_or("");
    value.server = auth->get_string("server").value_or("");
    value.identity_token = auth->get_string("identity_token").value_or("");
    auth->reject_unknown_keys();
    if (value.identity_token.empty() && value.username.empty())
      table.fail("registry_auth", "needs username (and password) or identity_token");
    config.registry_auth = value;
  }
  if (auto map = table.get_table("image_map")) config.image_map = read_image_map(*map);
  if (auto image = table.get_string("default_image")) {
    if (image->empty()) table.fail("default_image", "must not be empty");
    // image_map.default, when given, wins; default_image is the fallback.
    if (!config.image_map.has_default()) config.image_map.set_default(*image);
  }
  config.env_passthrough = table.get_string_array("env_passthrough").value_or(std::vector<std::string>{});
  config.env_block = table.get_string_array("env_block").value_or(std::vector<std::string>{});
  config.cap_add = table.get_string_array("cap_add").value_or(std::vector<std::string>{});
  for (auto& cap : config.cap_add) {
    if (cap.starts_with("CAP_")) cap = cap.substr(4);
    if (!is_capability_name(cap))
      table.fail("cap_add", "'" + cap + "' is not a capability name like \"NET_BIND_SERVICE\"");
  }
  config.seccomp_profile = table.get_string("seccomp_profile");
  if (config.seccomp_profile) {
    std::ifstream in(*config.seccomp_profile);
    if (!in) table.fail("seccomp_profile", "cannot read '" + *config.seccomp_profile + "'");
    std::stringstream content;
    content << in.rdbuf();
    boost::system::error_code ec;
    auto parsed = boost::json::parse(content.str(), ec);
    if (ec || !parsed.is_object())
      table.fail("seccomp_profile", "'" + *config.seccomp_profile + "' is not a JSON seccomp profile" +
                                        (ec ? ": " + ec.message() : std::string()));
    config.seccomp_profile_json = boost::json::serialize(parsed);
  }
  config.bind_allow = table.get_string_array("bind_allow").value_or(std::vector<std::string>{});
  for (const auto& prefix : config.bind_allow)
    if (prefix.empty() || prefix.front() != '/')
      table.fail("bind_allow", "'" + prefix + "' must be an absolute host path");
  config.host_gateway = table.get_bool("host_gateway").value_or(false);
  if (auto grace = read_legacy_stop_grace(table, [&](const std::string& why) { if (warn) warn(why); }))
    config.stop_grace = *grace;
  if (auto limit = table.get_size("log_limit")) {
    if (*limit < 4096) table.fail("log_limit", "expected at least 4k");
    config.log_limit = *limit;
  }
  if (auto workspace = table.get_string("workspace"))
    config.workspace = parse_at("workspace", [&] { return parse_workspace_mode(*workspace); });
  if (auto agent = table.get_string("agent")) config.agent = parse_at("agent", [&] { return parse_agent_mode(*agent); });
  if (config.agent == AgentMode::on) {
    Endpoint endpoint = parse_at("host", [&] { return choose_endpoint(config.endpoint); });
    if (endpoint.kind != Endpoint::Kind::unix_socket)
      table.fail("agent", "\"on\" needs the daemon on a local unix socket; the endpoint is " + endpoint.to_string() +
                              " (use \"auto\" or \"off\")");
  }
  config.agent_binary = table.get_string("agent_binary");
  if (config.agent_binary && (config.agent_binary->empty() || config.agent_binary->front() != '/'))
    table.fail("agent_binary", "expected an absolute path to hutch-agent");
  // Moved to [defaults] so that every backend applies them (issue 14); still honoured here.
  for (const auto& [key, moved_to] :
       {std::pair<const char*, const char*>{"image_map", "[defaults.image_map]"},
        {"default_image", "[defaults.image_map] default"},
        {"env_passthrough", "[defaults] env_passthrough"},
        {"env_block", "[defaults] env_block"},
        {"workspace", "[defaults] workspace"},
        {"pull", "[images] pull"},
        {"registry_auth", "[images.auth.\"HOST\"] (or log in with `docker login`)"}})
    if (table.contains(key) && warn)
      warn(table.where(key) + ": [" + table.path() + "] " + key +
           " is deprecated and applies to this backend only; move it to " + moved_to);
  if (table.contains("egress_subnet")) config.egress_subnet = egress::read_subnet(table, "egress_subnet", {});
  config.upstream_dns = egress::read_upstream_dns(table);
  config.resolver = table.get_string("resolver");
  table.reject_unknown_keys();
  return config;
}

void DockerConfig::use_image_settings(ImageSettings settings) {
  images = std::move(settings);
  if (pull_in_backend_table) return;
  switch (images.pull) {
    case hutch::PullPolicy::missing: pull = PullPolicy::missing; break;
    case hutch::PullPolicy::always: pull = PullPolicy::always; break;
    case hutch::PullPolicy::never: pull = PullPolicy::never; break;
  }
}

std::optional<std::string> registry_auth_for(const DockerConfig& config, const std::string& reference) {
  if (config.registry_auth) return registry_auth_header(*config.registry_auth);
  std::string registry;
  try {
    registry = parse_image_reference(reference).registry;
  } catch (const Error&) {
    return std::nullopt;  // the engine says what is wrong with the name
  }
  const std::optional<RegistryCredentials> credentials = config.images.credentials_for(registry);
  if (!credentials) return std::nullopt;
  return registry_auth_header(RegistryAuth{credentials->username, credentials->password,
                                           registry == "docker.io" ? "https://index.docker.io/v1/" : registry,
                                           credentials->identity_token});
}

}  // namespace hutch::docker
