// Handle::set_env's bookkeeping, shared by the backends: the changes made to a sandbox's
// environment after create, kept with the sandbox and applied to every later command.
#pragma once

#include <hutch/export.hpp>
#include <hutch/types.hpp>

#include <filesystem>
#include <string>
#include <vector>

namespace hutch {

struct EnvChanges {
  Env set;                         // set to these values
  std::vector<std::string> unset;  // removed, also when the image or the spec set them (sorted)
  bool empty() const { return set.empty() && unset.empty(); }
  bool operator==(const EnvChanges&) const = default;
};

// Throws Error(invalid_argument) for a bad key (as SandboxSpec::env) or a key in both lists.
HUTCH_API void validate_env_change(const Env& set, const std::vector<std::string>& unset);

// Adds a set_env call to `changes`: its keys replace what earlier calls said about them.
HUTCH_API void add_env_change(EnvChanges& changes, const Env& set, const std::vector<std::string>& unset);

// `env` as the changes leave it.
HUTCH_API Env apply_env_changes(Env env, const EnvChanges& changes);

// The changes as an exec's environment entries: "K=V" to set, a bare "K" to unset (the Docker
// Engine's convention for exec and create, which hutch-agent follows too).
HUTCH_API std::vector<std::string> env_change_entries(const EnvChanges& changes);

// The changes kept in a sandbox's host-side state file `file` (JSON {"set": {...}, "unset":
// [...]}); none when it does not exist. Errc::backend naming the file when it is damaged.
HUTCH_API EnvChanges read_env_changes(const std::filesystem::path& file);

// Adds a set_env call to `file` (read, changed and replaced whole under an flock of
// "<file>.lock", so concurrent callers in several processes lose nothing) and returns the
// result. Errc::backend naming the file when it cannot be written.
HUTCH_API EnvChanges update_env_changes(const std::filesystem::path& file, const Env& set,
                                        const std::vector<std::string>& unset);

}  // namespace hutch
