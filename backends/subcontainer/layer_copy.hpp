// Copies an overlayfs upper directory exactly: the fork and snapshot primitive.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <filesystem>

namespace hutch::subcontainer {

// How ownership changes in a copy between id ranges (id_ranges.hpp): a fork copies its
// source's upper layer into its own range, a snapshot copies it into the store range. Host
// uids [from_uid, from_uid + count) become [to_uid, to_uid + count), gids likewise; other
// ids are kept. count 0: no change (rootless, where every range is the caller's one id).
struct IdShift {
  std::uint32_t from_uid = 0, from_gid = 0, to_uid = 0, to_gid = 0, count = 0;
  uid_t uid(uid_t id) const { return count != 0 && id >= from_uid && id - from_uid < count ? to_uid + (id - from_uid) : id; }
  gid_t gid(gid_t id) const { return count != 0 && id >= from_gid && id - from_gid < count ? to_gid + (id - from_gid) : id; }
};

// Copies the tree `from` to `to` (which must not exist; its parent must). Kept: file types
// (regular, dir, symlink, fifo, socket, char/block devices incl. overlay whiteouts = char dev
// 0/0), ownership (through `shift`), permission bits incl. setuid, timestamps, xattrs
// (trusted.overlay.*, user.overlay.*, security.capability, POSIX ACLs, ...), hardlinks within
// the tree. `shift` also applies to the ids inside xattrs: the root id of a namespaced file
// capability and the ids of POSIX ACL entries. Regular files are cloned (FICLONE) where the
// filesystem can, else copied in the kernel with copy_file_range.
// Throws hutch::Error(io) naming the file that failed; a partial `to` is removed.
void copy_layer(const std::filesystem::path& from, const std::filesystem::path& to, const IdShift& shift = {});

}  // namespace hutch::subcontainer
