// The host-path prefix policy of bind mounts: see <hutch/path_policy.hpp>.
#include <hutch/error.hpp>
#include <hutch/fs.hpp>
#include <hutch/path_policy.hpp>

#include <filesystem>
#include <optional>
#include <system_error>

namespace hutch {

namespace {

bool is_absolute(std::string_view path) { return !path.empty() && path.front() == '/'; }

// The path with symlinks resolved as far as it exists; nullopt when the host refuses to say
// (e.g. a directory on the way is not searchable).
std::optional<std::string> resolve_on_host(const std::string& path) {
  std::error_code ec;
  const std::filesystem::path resolved = std::filesystem::weakly_canonical(path, ec);
  if (ec) return std::nullopt;
  return resolved.string();
}

}  // namespace

std::string lexically_normal_absolute(std::string_view path) {
  std::vector<std::string> parts;
  for (auto& part : path_components(path)) {
    if (part != "..")
      parts.push_back(std::move(part));
    else if (!parts.empty())
      parts.pop_back();
  }
  std::string out;
  for (const auto& part : parts) {
    out += '/';
    out += part;
  }
  return out.empty() ? "/" : out;
}

bool path_within(std::string_view path, std::string_view prefix) {
  if (!is_absolute(path) || !is_absolute(prefix)) return false;
  const std::string normal_path = lexically_normal_absolute(path);
  const std::string normal_prefix = lexically_normal_absolute(prefix);
  if (normal_prefix == "/") return true;
  if (!normal_path.starts_with(normal_prefix)) return false;
  return normal_path.size() == normal_prefix.size() || normal_path[normal_prefix.size()] == '/';
}

std::string check_host_path_allowed(const std::string& host_path,
                                    const std::vector<std::string>& allowed_prefixes,
                                    const std::string& setting, const std::string& what) {
  if (!is_absolute(host_path))
    throw Error(Errc::invalid_argument,
                what + ": host path '" + host_path + "' must be an absolute path");
  const std::optional<std::string> resolved = resolve_on_host(host_path);
  // A path the host cannot resolve might hide a symlink: it is refused, never judged lexically.
  if (!resolved)
    throw Error(Errc::permission_denied, what + ": host path '" + host_path +
                                             "' cannot be resolved on the host, so it is not "
                                             "known to lie under an allowed prefix");
  for (const std::string& prefix : allowed_prefixes) {
    if (!is_absolute(prefix)) continue;
    const std::string real_prefix = resolve_on_host(prefix).value_or(lexically_normal_absolute(prefix));
    if (path_within(*resolved, real_prefix)) return *resolved;
  }
  std::string list;
  for (const std::string& prefix : allowed_prefixes) list += (list.empty() ? "" : ", ") + prefix;
  throw Error(Errc::permission_denied,
              what + ": host path '" + host_path + "'" +
                  (*resolved != host_path ? " (resolves to '" + *resolved + "')" : "") +
                  " is not under any allowed prefix (" + (list.empty() ? "none configured" : list) +
                  "); to allow it, add a prefix to " + setting);
}

}  // namespace hutch
