// The rules a SandboxSpec, an ExecRequest and a mount must follow, written once for the CLI,
// the config and every backend.
#include <hutch/error.hpp>
#include <hutch/fs.hpp>
#include <hutch/ports.hpp>
#include <hutch/sandbox_files.hpp>
#include <hutch/workspace.hpp>
#include <hutch/service_labels.hpp>
#include <hutch/spec.hpp>
#include <hutch/units.hpp>

#include <arpa/inet.h>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <map>
#include <optional>
#include <set>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

namespace hutch {
namespace {

constexpr std::string_view kReservedLabelPrefix = "hutch.";
constexpr std::string_view kMountOptions =
    "type, src (source), dst (target, destination), ro (readonly), kind, subpath, idmap, size";

[[noreturn]] void invalid(const std::string& message) {
  throw Error(Errc::invalid_argument, message);
}

std::string format_number(double value) {
  std::ostringstream out;
  out << value;
  return out.str();
}

bool has_nul(std::string_view text) { return text.find('\0') != std::string_view::npos; }

bool is_absolute(std::string_view path) { return !path.empty() && path.front() == '/'; }

// The problem with an env key, or nullopt when it is fine.
std::optional<std::string> env_key_problem(const std::string& key) {
  if (key.empty()) return "env key is empty";
  if (key.find('=') != std::string::npos) return "env key '" + key + "' contains '='";
  if (has_nul(key)) return "env key contains a NUL byte";
  return std::nullopt;
}

void check_env(const Env& env, const std::string& prefix) {
  for (const auto& [key, value] : env) {
    if (auto problem = env_key_problem(key)) invalid(prefix + *problem);
    if (has_nul(value)) invalid(prefix + "env value of '" + key + "' contains a NUL byte");
  }
}

// A subpath is relative to the mount source and must not climb out of it.
bool subpath_escapes(std::string_view subpath) {
  if (is_absolute(subpath)) return true;
  const auto parts = path_components(subpath);
  return std::find(parts.begin(), parts.end(), "..") != parts.end();
}

// The first rule `mount` breaks on its own (without looking at the other mounts).
std::optional<std::string> mount_problem(const Mount& mount) {
  if (!is_absolute(mount.target))
    return "target must be absolute, got '" + mount.target + "'";
  if (has_nul(mount.target) || has_nul(mount.source) || has_nul(mount.subpath))
    return "contains a NUL byte";
  if (normalize_sandbox_path(mount.target) == "/") return "target must not be '/'";
  if (mount.type == MountType::tmpfs) {
    if (!mount.source.empty())
      return "a tmpfs mount takes no source, got '" + mount.source + "'";
    if (!mount.subpath.empty()) return "a tmpfs mount takes no subpath";
    if (mount.tmpfs_size_bytes && *mount.tmpfs_size_bytes == 0)
      return "tmpfs size must be greater than zero";
  } else {
    if (mount.source.empty())
      return std::string("a ") + to_string(mount.type) + " mount needs a source";
    if (mount.tmpfs_size_bytes) return "size applies to tmpfs mounts only";
  }
  if (mount.type == MountType::bind && !is_absolute(mount.source))
    return "a bind source must be an absolute host path, got '" + mount.source + "'";
  if (!mount.subpath.empty() && subpath_escapes(mount.subpath))
    return "subpath must be relative and stay inside the source, got '" + mount.subpath + "'";
  if (mount.idmap && mount.idmap->range == 0) return "idmap range must be greater than zero";
  return std::nullopt;
}

std::uint32_t parse_id(std::string_view text, std::string_view what, const std::string& context) {
  std::uint32_t value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (text.empty() || ec != std::errc() || end != text.data() + text.size())
    invalid(context + ": idmap " + std::string(what) + " '" + std::string(text) +
            "' is not a number from 0 to 4294967295");
  return value;
}

IdMap parse_idmap(std::string_view text, const std::string& context) {
  std::vector<std::string_view> parts;
  std::size_t pos = 0;
  while (true) {
    std::size_t next = text.find(':', pos);
    parts.push_back(text.substr(pos, next == std::string_view::npos ? next : next - pos));
    if (next == std::string_view::npos) break;
    pos = next + 1;
  }
  if (parts.size() != 3)
    invalid(context + ": idmap must be FROM:TO:RANGE (e.g. 0:100000:65536), got '" +
            std::string(text) + "'");
  return IdMap{parse_id(parts[0], "FROM", context), parse_id(parts[1], "TO", context),
               parse_id(parts[2], "RANGE", context)};
}

bool parse_flag_value(std::string_view value, const std::string& context, std::string_view key) {
  if (value.empty() || value == "true" || value == "1") return true;
  if (value == "false" || value == "0") return false;
  invalid(context + ": " + std::string(key) + " must be true or false, got '" +
          std::string(value) + "'");
}

// Refuses what the comma-separated syntax cannot carry, so format_mount always round-trips.
void check_formattable(std::string_view value, std::string_view field) {
  if (value.find(',') != std::string_view::npos)
    invalid("mount " + std::string(field) + " '" + std::string(value) +
            "' contains ',', which the mount syntax cannot express");
}

// An egress destination meant as a domain: letters, digits, '-', '.' and a leading "*.", with
// a dot (a single word like "any" is a mistyped "all" more often than a name, and a sandbox
// has no search domains) and a letter or '*' (so that a mistyped address like "10.0.0" is not
// taken for a name).
bool looks_like_domain(const std::string& destination) {
  bool letter = false;
  for (char c : destination) {
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')) letter = true;
    else if (!((c >= '0' && c <= '9') || c == '-' || c == '.' || c == '*')) return false;
  }
  return destination.find('.') != std::string::npos && (letter || destination.find('*') != std::string::npos);
}

// What is wrong with a domain rule's name (RFC 1035 host names: labels of 1 to 63 letters,
// digits and '-', not at either end; 253 characters at most), or nullopt. "*." in front
// matches every name below it (not the name itself).
std::optional<std::string> domain_problem(const std::string& destination) {
  const std::string quoted = "'" + destination + "'";
  std::string_view name = destination;
  if (name.starts_with("*.")) name.remove_prefix(2);
  if (name.find('*') != std::string_view::npos)
    return quoted + ": '*' may only be the whole first label, as in *.example.com";
  if (name.empty() || name.size() > 253) return quoted + ": a domain has 1 to 253 characters";
  std::string_view last;
  for (std::size_t start = 0;;) {
    const std::size_t dot = name.find('.', start);
    const std::string_view label = name.substr(start, dot == std::string_view::npos ? dot : dot - start);
    if (label.empty()) return quoted + ": empty label (a leading, trailing or double '.')";
    if (label.size() > 63) return quoted + ": the label '" + std::string(label) + "' is longer than 63 characters";
    if (label.front() == '-' || label.back() == '-')
      return quoted + ": the label '" + std::string(label) + "' starts or ends with '-'";
    last = label;
    if (dot == std::string_view::npos) break;
    start = dot + 1;
  }
  // No top-level domain is all digits (RFC 3696 2): such a name is a mistyped address.
  if (last.find_first_not_of("0123456789") == std::string_view::npos)
    return quoted + " is neither an IP address nor a domain (its last label is a number)";
  return std::nullopt;
}

}  // namespace

std::optional<std::string> egress_destination_problem(const std::string& destination) {
  if (destination == "all") return std::nullopt;
  const auto slash = destination.find('/');
  const std::string address = destination.substr(0, slash);
  const bool v6 = address.find(':') != std::string::npos;
  unsigned char bytes[16] = {};
  if (::inet_pton(v6 ? AF_INET6 : AF_INET, address.c_str(), bytes) != 1) {
    if (looks_like_domain(destination)) return domain_problem(destination);
    return "'" + destination + "' is not \"all\", an IP address, a network like 10.0.0.0/8 or 2001:db8::/32, or a "
           "domain like example.com or *.example.com";
  }
  const int bits = v6 ? 128 : 32;
  int prefix = bits;
  if (slash != std::string::npos) {
    const char* begin = destination.data() + slash + 1;
    const char* end = destination.data() + destination.size();
    auto [ptr, ec] = std::from_chars(begin, end, prefix);
    if (ec != std::errc() || ptr != end || begin == end || prefix < 0 || prefix > bits)
      return "'" + destination + "': the prefix length must be 0 to " + std::to_string(bits);
  }
  for (int bit = prefix; bit < bits; ++bit)
    if (bytes[bit / 8] & (0x80 >> (bit % 8)))
      return "'" + destination + "' has bits set past its prefix length /" + std::to_string(prefix);
  return std::nullopt;
}

void validate_egress(const std::vector<EgressRule>& rules, NetworkMode network) {
  for (std::size_t i = 0; i < rules.size(); ++i)
    if (auto problem = egress_destination_problem(rules[i].destination))
      invalid("egress rule " + std::to_string(i + 1) + " (" + to_string(rules[i].action) + "): " + *problem);
  if (!rules.empty() && network != NetworkMode::bridge)
    invalid(std::string("egress rules (--allow-net, --deny-net) need network \"bridge\"; network is \"") +
            to_string(network) + "\"");
}

void validate(const SandboxSpec& spec) {
  if (!spec.workdir.empty() && !is_absolute(spec.workdir))
    invalid("workdir must be absolute, got '" + spec.workdir + "'");
  if (has_nul(spec.user) || has_nul(spec.image)) invalid("image or user contains a NUL byte");
  check_env(spec.env, "");

  std::map<std::string, std::size_t> mount_by_target;
  for (std::size_t i = 0; i < spec.mounts.size(); ++i) {
    const std::string prefix = "mount " + std::to_string(i + 1) + ": ";
    if (auto problem = mount_problem(spec.mounts[i])) invalid(prefix + *problem);
    auto target = normalize_sandbox_path(spec.mounts[i].target);
    auto [it, inserted] = mount_by_target.emplace(target, i + 1);
    if (!inserted)
      invalid(prefix + "target '" + target + "' is already used by mount " +
              std::to_string(it->second));
  }

  validate_egress(spec.egress, spec.network);

  const Limits& limits = spec.limits;
  if (limits.memory_bytes && *limits.memory_bytes == 0)
    invalid("limits.memory must be greater than zero");
  if (limits.cpus && !(std::isfinite(*limits.cpus) && *limits.cpus > 0))
    invalid("limits.cpus must be a number greater than zero, got " + format_number(*limits.cpus));
  if (limits.pids && *limits.pids == 0) invalid("limits.pids must be greater than zero");
  if (limits.memory_unlimited && limits.memory_bytes)
    invalid("limits.memory is both unlimited and " + format_size(*limits.memory_bytes));
  if (limits.pids_unlimited && limits.pids)
    invalid("limits.pids is both unlimited and " + std::to_string(*limits.pids));

  for (const auto& [key, value] : spec.labels) {
    if (key.empty()) invalid("label key is empty");
    if (key.compare(0, kReservedLabelPrefix.size(), kReservedLabelPrefix) == 0 && key != kLabelService &&
        key != kLabelTenant && key != kLabelPool && key != kLabelToken)
      invalid("label '" + key + "' uses the prefix 'hutch.', which is reserved for hutch's own labels");
  }

  if (spec.ttl && spec.ttl->count() <= 0)
    invalid("ttl must be greater than zero, got " + format_duration(*spec.ttl));
  if (spec.idle_timeout && spec.idle_timeout->count() <= 0)
    invalid("idle_timeout must be greater than zero, got " + format_duration(*spec.idle_timeout));
  if (spec.stop_grace && (spec.stop_grace->count() < 0 || spec.stop_grace->count() > kMaxStopGraceMs))
    invalid("stop_grace must be from 0 to 49 days, got " + format_duration(*spec.stop_grace));

  if (spec.entrypoint)
    for (std::size_t i = 0; i < spec.entrypoint->size(); ++i)
      if (has_nul((*spec.entrypoint)[i])) invalid("entrypoint[" + std::to_string(i) + "] contains a NUL byte");

  validate_ports(spec.ports, spec.network);

  validate_files(spec.files);
  if (spec.max_file_bytes && *spec.max_file_bytes == 0) invalid("max_file_bytes must be greater than zero");
  validate_workspace(spec.workspace);
}

void validate(const ExecRequest& request) {
  // With use_entrypoint an empty argv means the image's Cmd (hutch::command_argv checks it).
  if (request.argv.empty() && !request.use_entrypoint) invalid("exec: argv is empty: give the command to run");
  if (!request.argv.empty() && request.argv.front().empty()) invalid("exec: argv[0] (the program) is empty");
  for (std::size_t i = 0; i < request.argv.size(); ++i)
    if (has_nul(request.argv[i])) invalid("exec: argv[" + std::to_string(i) + "] contains a NUL byte");
  if (!request.cwd.empty() && !is_absolute(request.cwd))
    invalid("exec: cwd must be absolute, got '" + request.cwd + "'");
  check_env(request.env, "exec: ");
  if (request.timeout && request.timeout->count() <= 0)
    invalid("exec: timeout must be greater than zero, got " + format_duration(*request.timeout));
  if (request.start_timeout && request.start_timeout->count() <= 0)
    invalid("exec: start_timeout must be greater than zero, got " + format_duration(*request.start_timeout));
}

void validate_launch(const ExecRequest& request) {
  validate(request);
  if (request.stdin_data) invalid("launch: a main command has no stdin (it reads /dev/null); leave stdin_data unset");
  if (request.timeout) invalid("launch: a main command has no timeout (it runs until it ends or is replaced)");
}

Mount parse_mount(std::string_view text) {
  const std::string context = "mount '" + std::string(text) + "'";
  Mount mount;
  std::set<std::string> seen;
  std::size_t pos = 0;
  while (pos <= text.size()) {
    std::size_t next = text.find(',', pos);
    if (next == std::string_view::npos) next = text.size();
    std::string_view item = text.substr(pos, next - pos);
    pos = next + 1;
    if (item.empty()) invalid(context + ": empty option (two commas in a row, or a trailing comma)");

    std::size_t eq = item.find('=');
    std::string key(item.substr(0, eq));
    std::string_view value = eq == std::string_view::npos ? std::string_view{} : item.substr(eq + 1);
    bool has_value = eq != std::string_view::npos;

    if (key == "source") key = "src";
    if (key == "target" || key == "destination") key = "dst";
    if (key == "readonly") key = "ro";
    if (!seen.insert(key).second) invalid(context + ": option '" + key + "' is given twice");
    if (key != "ro" && !has_value)
      invalid(context + ": option '" + key + "' needs a value (" + key + "=...)");

    if (key == "type") {
      try {
        mount.type = parse_mount_type(std::string(value));
      } catch (const Error& e) {
        invalid(context + ": " + e.what());
      }
    } else if (key == "src") {
      mount.source = value;
    } else if (key == "dst") {
      mount.target = value;
    } else if (key == "ro") {
      mount.read_only = parse_flag_value(value, context, key);
    } else if (key == "kind") {
      if (value == "file") mount.kind = MountKind::file;
      else if (value == "dir" || value == "directory") mount.kind = MountKind::directory;
      else invalid(context + ": kind must be file or dir, got '" + std::string(value) + "'");
    } else if (key == "subpath") {
      mount.subpath = value;
    } else if (key == "idmap") {
      mount.idmap = parse_idmap(value, context);
    } else if (key == "size") {
      try {
        mount.tmpfs_size_bytes = parse_size(value);
      } catch (const Error& e) {
        invalid(context + ": " + e.what());
      }
    } else {
      invalid(context + ": unknown option '" + key + "' (accepted: " + std::string(kMountOptions) +
              ")");
    }
  }
  if (mount.target.empty()) invalid(context + ": dst (the target inside the sandbox) is missing");
  if (auto problem = mount_problem(mount)) invalid(context + ": " + *problem);
  return mount;
}

std::string format_mount(const Mount& mount) {
  check_formattable(mount.source, "source");
  check_formattable(mount.target, "target");
  check_formattable(mount.subpath, "subpath");
  std::string out = std::string("type=") + to_string(mount.type);
  if (!mount.source.empty()) out += ",src=" + mount.source;
  out += ",dst=" + mount.target;
  if (mount.read_only) out += ",ro";
  if (mount.kind == MountKind::file) out += ",kind=file";
  if (mount.kind == MountKind::directory) out += ",kind=dir";
  if (!mount.subpath.empty()) out += ",subpath=" + mount.subpath;
  if (mount.idmap)
    out += ",idmap=" + std::to_string(mount.idmap->from) + ":" + std::to_string(mount.idmap->to) +
           ":" + std::to_string(mount.idmap->range);
  if (mount.tmpfs_size_bytes) out += ",size=" + format_size(*mount.tmpfs_size_bytes);
  return out;
}

std::pair<std::string, std::string> parse_key_value(std::string_view text, std::string_view what) {
  std::size_t eq = text.find('=');
  if (eq == std::string_view::npos)
    invalid(std::string(what) + " '" + std::string(text) + "' must look like KEY=VALUE");
  if (eq == 0) invalid(std::string(what) + " '" + std::string(text) + "' has an empty key");
  return {std::string(text.substr(0, eq)), std::string(text.substr(eq + 1))};
}

SandboxSpec merge_defaults(SandboxSpec spec, const SandboxSpec& defaults) {
  if (spec.image.empty()) spec.image = defaults.image;
  if (spec.workdir.empty()) spec.workdir = defaults.workdir;
  if (spec.user.empty()) spec.user = defaults.user;
  Limits& limits = spec.limits;
  if (!limits.memory_bytes && !limits.memory_unlimited) {
    limits.memory_bytes = defaults.limits.memory_bytes;
    limits.memory_unlimited = defaults.limits.memory_unlimited;
  }
  if (!limits.cpus) limits.cpus = defaults.limits.cpus;
  if (!limits.pids && !limits.pids_unlimited) {
    limits.pids = defaults.limits.pids;
    limits.pids_unlimited = defaults.limits.pids_unlimited;
  }
  if (!spec.ttl) spec.ttl = defaults.ttl;
  if (!spec.idle_timeout) spec.idle_timeout = defaults.idle_timeout;
  if (!spec.max_file_bytes) spec.max_file_bytes = defaults.max_file_bytes;
  if (spec.workspace.empty()) spec.workspace = defaults.workspace;
  if (!spec.stop_grace) spec.stop_grace = defaults.stop_grace;
  spec.env.insert(defaults.env.begin(), defaults.env.end());        // keeps existing keys
  spec.labels.insert(defaults.labels.begin(), defaults.labels.end());
  return spec;
}

SandboxSpec apply_safe_defaults(SandboxSpec spec) {
  Limits& limits = spec.limits;
  if (!limits.memory_bytes && !limits.memory_unlimited) {
    limits.memory_bytes = kDefaultMemoryBytes;
    limits.memory_defaulted = true;
  }
  if (!limits.pids && !limits.pids_unlimited) {
    limits.pids = kDefaultPids;
    limits.pids_defaulted = true;
  }
  return spec;
}

Limits asked_limits(Limits limits) {
  if (limits.memory_defaulted) limits.memory_bytes.reset();
  if (limits.pids_defaulted) limits.pids.reset();
  limits.memory_defaulted = limits.pids_defaulted = false;
  return limits;
}

bool is_unlimited(std::string_view text) noexcept { return text == "unlimited"; }

}  // namespace hutch
