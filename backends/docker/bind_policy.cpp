#include "bind_policy.hpp"

#include <sbx/error.hpp>

#include <filesystem>
#include <system_error>

namespace sbx::docker {

std::string lexically_normal_absolute(std::string_view path) {
  std::vector<std::string_view> parts;
  std::size_t pos = 0;
  while (pos <= path.size()) {
    std::size_t next = path.find('/', pos);
    if (next == std::string_view::npos) next = path.size();
    std::string_view part = path.substr(pos, next - pos);
    if (part == "..") {
      if (!parts.empty()) parts.pop_back();
    } else if (!part.empty() && part != ".") {
      parts.push_back(part);
    }
    pos = next + 1;
  }
  std::string out;
  for (auto part : parts) {
    out += '/';
    out += part;
  }
  return out.empty() ? "/" : out;
}

bool is_under_prefix(std::string_view path, std::string_view prefix) {
  if (path.empty() || path.front() != '/' || prefix.empty() || prefix.front() != '/') return false;
  std::string normal_path = lexically_normal_absolute(path);
  std::string normal_prefix = lexically_normal_absolute(prefix);
  if (normal_prefix == "/") return true;
  if (!normal_path.starts_with(normal_prefix)) return false;
  return normal_path.size() == normal_prefix.size() || normal_path[normal_prefix.size()] == '/';
}

std::string check_bind_source(const std::string& source, const std::vector<std::string>& allowed) {
  if (source.empty() || source.front() != '/')
    throw Error(Errc::invalid_argument, "bind mount source '" + source + "' must be an absolute host path");
  std::error_code ec;
  auto resolved = std::filesystem::weakly_canonical(source, ec);
  std::string real = ec ? lexically_normal_absolute(source) : resolved.string();
  for (const auto& prefix : allowed) {
    auto resolved_prefix = std::filesystem::weakly_canonical(prefix, ec);
    std::string real_prefix = ec ? lexically_normal_absolute(prefix) : resolved_prefix.string();
    if (is_under_prefix(real, real_prefix)) return real;
  }
  std::string list;
  for (const auto& prefix : allowed) list += (list.empty() ? "" : ", ") + prefix;
  throw Error(Errc::permission_denied,
              "bind mount of host path '" + source + "'" + (real != source ? " (resolves to '" + real + "')" : "") +
                  " is not allowed: it is not under any [backends.docker] bind_allow prefix (" +
                  (list.empty() ? "none configured" : list) + ")");
}

}  // namespace sbx::docker
