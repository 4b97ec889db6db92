// Which of the HOST's environment variables a sandbox inherits (Go's FilterEnv): those matching
// one of the `passthrough` globs and none of the `block` globs (the blocklist wins). Nothing is
// passed through unless asked. Globs are fnmatch(3) patterns: "LANG", "LC_*", "*_PROXY".
// Configured in [defaults] env_passthrough / env_block and applied to every backend's spec by
// apply_config_policy (<hutch/spec_policy.hpp>).
#pragma once

#include <hutch/export.hpp>
#include <hutch/types.hpp>

#include <string>
#include <vector>

namespace hutch {

struct EnvPolicy {
  std::vector<std::string> passthrough;
  std::vector<std::string> block;
  bool empty() const { return passthrough.empty(); }
};

HUTCH_API bool glob_match(const std::string& pattern, const std::string& text);

// `host_environment` holds "KEY=VALUE" entries (as in environ); entries without '=' are ignored.
HUTCH_API Env filter_host_env(const EnvPolicy& policy, const std::vector<std::string>& host_environment);

// The calling process's environment as "KEY=VALUE" entries.
HUTCH_API std::vector<std::string> current_environment();

}  // namespace hutch
