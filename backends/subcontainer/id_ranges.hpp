// The host ids of sandboxes when hutch runs as root: one range per sandbox.
//
// hutch owns one block of host uids and gids (the same numbers for both),
//   [uid_base, uid_base + (uid_ranges + 1) * uid_count),
// registered in /etc/subuid and /etc/subgid (subordinate_ids.hpp) so no local user is given
// any of it. The block is cut into ranges of uid_count ids:
//   range 0       the store range. Files of the image store and of volumes are owned by these
//                 ids on disk; no process ever runs with them. A sandbox sees them through
//                 idmapped mounts that shift this range onto its own (helper/
//                 idmapped_mounts.hpp), so one stored image serves every sandbox at once.
//   range 1..N    one per sandbox, from create to destroy: its user namespace maps ids
//                 0..uid_count-1 inside to it, the namespace is owned by its first id (so
//                 per-user kernel quotas such as inotify instances are charged to the sandbox,
//                 not to host root), and its upper layer belongs to it.
// Why one range each: root of a sandbox is then no one else. A host uid that is root in every
// sandbox (the old single range) made one leak — a setuid file reachable from the host, a
// subordinate id range given to a local user — a way into all of them.
//
// Which ranges are taken is kept host-wide, outside any state dir (several state dirs share
// the block): one file per range in `dir`, named "<first id>-<count>", holding the sandbox
// directory that took it. Allocation and release hold an flock on <dir>/.lock. A range whose
// sandbox directory is gone is free again (reclaim_stale): a hutch that crashed between
// removing a sandbox's directory and releasing its range leaks nothing for long.
#pragma once

#include <cstdint>
#include <filesystem>
#include <vector>

namespace hutch::subcontainer {

struct IdRange {
  std::uint32_t first = 0;  // host uid (and gid) of root inside
  std::uint32_t count = 0;
};

class IdRangeRegistry {
 public:
  // `base`, `count`, `ranges`: the block as configured (uid_base, uid_count, uid_ranges).
  IdRangeRegistry(std::filesystem::path dir, std::uint32_t base, std::uint32_t count, std::uint32_t ranges);

  // The store range: range 0 of the block.
  IdRange store_range() const { return {base_, count_}; }
  // The whole block, as registered in /etc/subuid.
  std::uint64_t block_size() const { return (std::uint64_t(ranges_) + 1) * count_; }

  // Takes the lowest free sandbox range for the sandbox whose directory is `owner` (which
  // must exist already: a range whose owner does not exist is free). A range recorded by any
  // configuration that overlaps a candidate (another uid_base) counts as taken.
  // Errc::state when every range is taken (by sandboxes that still exist); Errc::io when the
  // registry cannot be written.
  IdRange allocate(const std::filesystem::path& owner);

  // Frees `range` if `owner` holds it (a range already released, or taken by another sandbox
  // since, is left alone). Never throws.
  void release(const IdRange& range, const std::filesystem::path& owner) noexcept;

  // Frees the range `owner` holds, whichever it is (a sandbox that died before its record was
  // written). Never throws.
  void release_owner(const std::filesystem::path& owner) noexcept;

  // Frees every range whose owner directory no longer exists; returns them.
  std::vector<IdRange> reclaim_stale();

 private:
  struct Lock;
  struct Taken {
    IdRange range;
    std::filesystem::path file, owner;
  };
  std::vector<Taken> taken() const;
  void ensure_dir() const;

  std::filesystem::path dir_;
  std::uint32_t base_, count_, ranges_;
};

}  // namespace hutch::subcontainer
