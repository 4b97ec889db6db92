// The cgroup of one sandbox: limits (memory, pids, cpu), stats, freeze/thaw, and the
// kill-everything that destroy relies on. cgroup v2 where /sys/fs/cgroup is unified, else v1
// with one directory per controller (memory, pids, cpu, cpuacct, freezer).
#pragma once

#include <hutch/types.hpp>

#include <sys/types.h>

#include <cstdint>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace hutch::subcontainer {

class SandboxCgroup {
 public:
  // Creates <controller>/<root_name>/<id> under `mount` and applies `limits`; <root_name>
  // itself gets `root_cpu_weight` (v2 cpu.weight scale; best effort: a weight is a preference,
  // so a hierarchy without the cpu controller keeps its default). nullopt when the host has no
  // cgroup hierarchy this process may write (rootless on v1) and no limit was asked for;
  // Errc::unsupported naming the limit when one was asked for (or its controller is not
  // available).
  static std::optional<SandboxCgroup> create(const std::string& root_name, std::uint32_t root_cpu_weight,
                                             const std::string& id, const Limits& limits,
                                             const std::filesystem::path& mount = "/sys/fs/cgroup");
  // For an unprivileged caller: <base>/<root_name>/<id> in the cgroup v2 subtree delegated to
  // it (delegated_base), with the same weight, nullopt and Errc::unsupported contract as create.
  static std::optional<SandboxCgroup> create_delegated(const std::string& root_name, std::uint32_t root_cpu_weight,
                                                       const std::string& id, const Limits& limits);
  // The parent of this process's own cgroup v2 when it was delegated to the caller (it may
  // write there and move processes within it): systemd's user@UID.service subtree, e.g. under
  // `systemd-run --user --scope`. Sandboxes then get cgroups beside the caller's own (v2 lets
  // no cgroup hold processes and enabled controllers at once). nullopt when there is none.
  static std::optional<std::filesystem::path> delegated_base();
  // Why sandboxes this process makes cannot have the memory and pids limits enforced (no
  // hierarchy with those controllers; rootless: no delegated cgroup v2 subtree with them), or
  // nullopt when they can.
  static std::optional<std::string> limits_problem(bool rootless, const std::filesystem::path& mount = "/sys/fs/cgroup");
  // The cgroup of an existing sandbox, from its record.
  SandboxCgroup(int version, std::vector<std::string> dirs, std::string id);
  // Every cgroup <controller>/<root_name>/<name> on this host, by name (a sandbox id, for
  // prune to find those whose record is gone). Empty without a readable hierarchy.
  static std::map<std::string, SandboxCgroup> existing(const std::string& root_name,
                                                       const std::filesystem::path& mount = "/sys/fs/cgroup");

  int version() const { return version_; }
  const std::vector<std::string>& dirs() const { return dirs_; }

  bool can_freeze() const;
  void freeze();
  void thaw();
  bool frozen() const;  // false where there is no freezer
  Stats stats() const;
  // Host pids of the processes in it, in any of its directories (unique, sorted).
  std::vector<pid_t> processes() const;
  // Kills every process left (thawing first) and removes the directories. Idempotent.
  void remove();

 private:
  int version_;
  std::vector<std::string> dirs_;
  std::string id_;

  std::optional<std::string> dir_with(const std::string& file) const;
  // Makes <root>/<id> in each of `roots`; controllers are enabled (v2) from `enable_from` down.
  static std::optional<SandboxCgroup> create_in(int version, const std::vector<std::filesystem::path>& roots,
                                                const std::filesystem::path& enable_from, std::uint32_t root_cpu_weight,
                                                const std::string& id, const Limits& limits);
};

}  // namespace hutch::subcontainer
