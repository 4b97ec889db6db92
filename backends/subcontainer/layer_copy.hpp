// Copies an overlayfs upper directory exactly: the fork and snapshot primitive.
#pragma once

#include <filesystem>

namespace hutch::subcontainer {

// Copies the tree `from` to `to` (which must not exist; its parent must). Kept: file types
// (regular, dir, symlink, fifo, socket, char/block devices incl. overlay whiteouts = char dev
// 0/0), ownership, permission bits incl. setuid, timestamps, xattrs (trusted.overlay.*,
// user.overlay.*, security.capability, ...), hardlinks within the tree. Regular files are
// cloned (FICLONE) where the filesystem can, else copied in the kernel with copy_file_range.
// Throws hutch::Error(io) naming the file that failed; a partial `to` is removed.
void copy_layer(const std::filesystem::path& from, const std::filesystem::path& to);

}  // namespace hutch::subcontainer
