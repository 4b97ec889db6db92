// Which of the HOST's environment variables a sandbox inherits: those matching one of the
// `env_passthrough` globs and none of the `env_block` globs (the blocklist wins). Nothing is
// passed through unless asked. Globs are fnmatch(3) patterns: "LANG", "LC_*", "*_PROXY".
#pragma once

#include <hutch/types.hpp>

#include <string>
#include <string_view>
#include <vector>

namespace hutch::docker {

struct EnvPolicy {
  std::vector<std::string> passthrough;
  std::vector<std::string> block;
};

bool glob_match(const std::string& pattern, const std::string& text);

// `host_environment` holds "KEY=VALUE" entries (as in environ); entries without '=' are ignored.
Env filter_host_env(const EnvPolicy& policy, const std::vector<std::string>& host_environment);

// The calling process's environment as "KEY=VALUE" entries.
std::vector<std::string> current_environment();

}  // namespace hutch::docker
