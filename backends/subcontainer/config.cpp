#include "config.hpp"

#include "egress_config.hpp"

#include <hutch/error.hpp>

#include <spdlog/spdlog.h>

#include <boost/asio/ip/address.hpp>
#include <boost/dll/runtime_symbol_info.hpp>

#include <fstream>
#include <sstream>


namespace hutch::subcontainer {
namespace {

int capability_number(const ConfigTable& table, const std::string& name) {
  auto value = capability_from_name(name);
  if (!value) table.fail("capabilities", "unknown capability '" + name + "' (names like \"chown\" or \"CAP_NET_RAW\")");
  return *value;
}

}  // namespace

std::filesystem::path default_helper_path() {
  return std::filesystem::path(boost::dll::this_line_location().parent_path().string()) /
         "hutch-subcontainer-helper";
}

std::filesystem::path default_resolver_path() {
  return std::filesystem::path(boost::dll::this_line_location().parent_path().string()) /
         "hutch-resolver";
}

BackendConfig read_backend_config(const PluginContext& context) {
  const ConfigTable& table = context.config;
  BackendConfig config;
  config.name = context.name.empty() ? "subcontainer" : context.name;
  config.state_root = std::filesystem::path(context.state_dir) / "subcontainer";
  config.sandboxes_dir = config.state_root / "sandboxes";
  config.volumes_dir = config.state_root / "volumes";
  config.backups_dir = config.state_root / "backups";
  config.image_store = config.state_root / "images";
  config.image_settings = context.images;

  if (auto v = table.get_int("uid_base", 1, 0xFFFFFFFFLL - 1)) config.uid_base = static_cast<std::uint32_t>(*v);
  if (auto v = table.get_int("uid_count", 1, 0xFFFFFFFFLL)) config.uid_count = static_cast<std::uint32_t>(*v);
  if (auto v = table.get_int("uid_ranges", 1, 0xFFFFFFFFLL)) config.uid_ranges = static_cast<std::uint32_t>(*v);
  // The last id (4294967295) is the kernel's "no id"; the block must end before it.
  if ((std::uint64_t(config.uid_ranges) + 1) * config.uid_count + config.uid_base > 0xFFFFFFFFULL)
    table.fail("uid_ranges", "uid_base + (uid_ranges + 1) * uid_count exceeds the 32-bit id space (" +
                                 std::to_string(config.uid_base) + " + " + std::to_string(config.uid_ranges) +
                                 "+1 ranges of " + std::to_string(config.uid_count) + " ids)");
  if (auto v = table.get_string_array("bind_allow")) {
    for (const auto& prefix : *v)
      if (prefix.empty() || prefix[0] != '/') table.fail("bind_allow", "'" + prefix + "' is not an absolute path");
    config.bind_allow = *v;
  }
  std::vector<std::string> names = kDefaultCapabilities;
  if (auto v = table.get_string_array("capabilities")) names = *v;
  for (const auto& name : names) config.keep_caps.push_back(capability_number(table, name));
  if (auto v = table.get_bool("seccomp")) config.seccomp = *v;
  if (auto v = table.get_string("cgroup_root")) {
    if (v->empty() || v->find("..") != std::string::npos || (*v)[0] == '/')
      table.fail("cgroup_root", "expected a relative cgroup name like \"hutch\"");
    config.cgroup_root = *v;
  }
  if (auto v = table.get_int("cpu_weight", 1, 10000)) config.cpu_weight = static_cast<std::uint32_t>(*v);
  if (auto v = table.get_string("image_store")) config.image_store = *v;
  if (auto v = read_legacy_stop_grace(table, [&](const std::string& why) { context.logger->warn("{}", why); }))
    config.stop_grace = *v;
  if (auto v = table.get_size("log_limit")) {
    if (*v < 4096) table.fail("log_limit", "expected at least 4k");
    config.log_limit = *v;
  }
  if (auto v = table.get_string("ephemeral_dir")) {
    if (!v->empty() && *v != "auto" && (*v)[0] != '/')
      table.fail("ephemeral_dir", "expected \"auto\", \"\" or an absolute path");
    config.ephemeral_dir = *v;
  }
  if (auto v = table.get_size("ephemeral_size")) {
    if (*v != 0 && *v < (1u << 20)) table.fail("ephemeral_size", "expected 0 (no tmpfs of its own) or at least 1m");
    config.ephemeral_size = *v;
  }
  if (auto v = table.get_string("bridge")) {
    // A link name: at most IFNAMSIZ-1 characters, none that `ip` or a path would misread.
    const bool valid = !v->empty() && v->size() <= 15 &&
                       v->find_first_not_of("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-") ==
                           std::string::npos;
    if (!valid) table.fail("bridge", "expected a link name of 1 to 15 letters, digits, '_', '.' or '-'");
    config.bridge.bridge = *v;
  }
  config.bridge.subnet = egress::read_subnet(table, "bridge_subnet", config.bridge.subnet);
  config.bridge.upstream_dns = egress::read_upstream_dns(table);
  config.bridge.resolver = default_resolver_path();
  if (auto v = table.get_string("resolver")) config.bridge.resolver = *v;
  config.helper = default_helper_path();
  if (auto v = table.get_string("helper")) config.helper = *v;
  config.port_forwarder = config.helper.parent_path() / "hutch-port-forwarder";
  if (auto v = table.get_string("port_forwarder")) config.port_forwarder = *v;
  config.pasta = network::find_pasta();
  if (auto v = table.get_string("pasta")) config.pasta = *v;
  config.pasta_helper = config.helper.parent_path() / "hutch-pasta-helper";
  if (auto v = table.get_string("pasta_helper")) config.pasta_helper = *v;
  table.reject_unknown_keys();
  return config;
}

}  // namespace hutch::subcontainer
