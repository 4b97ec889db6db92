#include <hutch/env_filter.hpp>

#include <fnmatch.h>
#include <unistd.h>

#include <algorithm>

extern char** environ;

namespace hutch {

bool glob_match(const std::string& pattern, const std::string& text) {
  return ::fnmatch(pattern.c_str(), text.c_str(), 0) == 0;
}

Env filter_host_env(const EnvPolicy& policy, const std::vector<std::string>& host_environment) {
  Env out;
  auto matches_any = [](const std::vector<std::string>& globs, const std::string& key) {
    return std::any_of(globs.begin(), globs.end(),
                       [&](const std::string& glob) { return glob_match(glob, key); });
  };
  for (const auto& entry : host_environment) {
    auto equals = entry.find('=');
    if (equals == std::string::npos || equals == 0) continue;
    std::string key = entry.substr(0, equals);
    if (!matches_any(policy.passthrough, key) || matches_any(policy.block, key)) continue;
    out[key] = entry.substr(equals + 1);
  }
  return out;
}

std::vector<std::string> current_environment() {
  std::vector<std::string> out;
  for (char** entry = environ; entry != nullptr && *entry != nullptr; ++entry) out.emplace_back(*entry);
  return out;
}

}  // namespace hutch
