// hutch's entry in /etc/subuid and /etc/subgid.
//
// Those files say which host ids each user may map into a user namespace of his own
// (newuidmap/newgidmap), and useradd hands every new user a fresh range that overlaps no
// entry there. Sandboxes of a root hutch run as ids of hutch's block (id_ranges.hpp): a local
// user given any of them could become root of a sandbox, or own its files. So the block is
// registered under the name "hutch" (then useradd skips it), and a block that overlaps
// another entry already there is refused.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>

namespace hutch::subcontainer {

inline constexpr const char* kSubordinateIdsName = "hutch";

// Makes sure `file` holds the line "<name>:<first>:<count>":
// - nothing is written when it is there already (the common case: a read, no lock);
// - Errc::config, naming the file, the line number and the entry, when a line of another
//   name covers any id of [first, first + count); `what` says which setting to change;
// - otherwise the line is appended: under the file's lock (<file>.lock, the protocol of
//   shadow's useradd/usermod, a stale lock of a dead process is taken over), written to a
//   temporary file (mode and owner of the old one, 0644 root for a new one) that replaces
//   `file` by rename, so a reader sees the old file or the new one; every other line is kept
//   as it was. Errc::io when that fails.
// Lines that are not "name:number:number" (blank, comments) are kept and otherwise ignored.
void register_subordinate_ids(const std::filesystem::path& file, const std::string& name, std::uint32_t first,
                              std::uint64_t count, const std::string& what);

}  // namespace hutch::subcontainer
