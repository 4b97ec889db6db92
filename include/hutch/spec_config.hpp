// A SandboxSpec from a configuration table: the sandbox keys [defaults] has, for any table that
// describes a sandbox ([defaults] itself, the service's [serve.pools.NAME]). Additive SDK header.
#pragma once

#include <hutch/config.hpp>
#include <hutch/export.hpp>
#include <hutch/types.hpp>

namespace hutch {

// The sandbox keys of `table` — image, env, workdir, user, memory, cpus, pids, network,
// read_only, max_file_bytes, workspace, ttl, idle_timeout, stop_grace — into `spec`, as
// [defaults] has them. Errc::config at the key for a bad value; the caller rejects the keys
// nobody read (ConfigTable::reject_unknown_keys).
HUTCH_API void read_spec_keys(const ConfigTable& table, SandboxSpec& spec);

}  // namespace hutch
