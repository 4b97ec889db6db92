// How `hutch cp` treats a symlink it copies out of a sandbox. A link reproduced on the host is
// followed there by the host's programs, so only a link that provably stays inside the copied
// tree is reproduced; any other is replaced by what it points to, resolved inside the sandbox.
#pragma once

#include <hutch/fs.hpp>

#include <optional>
#include <string>

namespace hutch::cli {

// Whether a link at `entry_path` (relative to the copied tree's root, "a/b/link"; "" for the
// root itself) with target `target` stays inside that tree once both are on the host. True only
// for a relative target made of ".." components followed by plain names, that climbs no higher
// than the root: such a link resolves the same way on the host as in the tree (its directory
// is a real directory the copy made, and a link it goes through is itself inside or replaced).
// Absolute targets, a ".." after a name ("a/../../x"), and the root itself are never inside.
bool link_stays_inside(const std::string& entry_path, const std::string& target);

struct ResolvedLink {
  std::string path;  // the sandbox path the chain of links ends at
  FileStat stat;     // its lstat: not a symlink
};

// What `path` names inside the sandbox, every symlink on the way and at its end followed, an
// absolute target taken from the sandbox root and ".." never above it (as the Fs resolves
// paths). nullopt when that does not exist; Errc::invalid_argument after 40 links (a loop),
// naming `path`.
std::optional<ResolvedLink> resolve_link(Fs& sandbox, const std::string& path);

// `path` with "." and ".." resolved by name ("/a/b/../c" -> "/a/c"), for comparing paths.
std::string lexically_normal(const std::string& path);

}  // namespace hutch::cli
