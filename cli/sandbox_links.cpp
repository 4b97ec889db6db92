#include "sandbox_links.hpp"

#include <hutch/error.hpp>

#include <deque>
#include <vector>

namespace hutch::cli {

namespace {

// How many links resolve_link follows, as the kernel's MAXSYMLINKS.
constexpr int kMaxLinks = 40;

// "/a/b" from {"a", "b"}; "/" from none.
std::string joined(const std::vector<std::string>& parts) {
  std::string path;
  for (const std::string& part : parts) path += "/" + part;
  return path.empty() ? "/" : path;
}

}  // namespace

bool link_stays_inside(const std::string& entry_path, const std::string& target) {
  if (entry_path.empty() || target.empty() || target.front() == '/') return false;
  // Depth of the link's directory below the root.
  long depth = static_cast<long>(path_components(entry_path).size()) - 1;
  bool named = false;
  for (const std::string& part : path_components(target)) {
    if (part != "..") {
      named = true;
      ++depth;
    } else if (named || --depth < 0) {
      return false;
    }
  }
  return true;
}

std::optional<ResolvedLink> resolve_link(Fs& sandbox, const std::string& path) {
  // Component by component, as the kernel resolves a path under a root: `resolved` holds only
  // real directories, so ".." is its parent, and no path handed to the Fs has a ".." in it
  // (the docker backend refuses those) or a link before its last name.
  std::deque<std::string> remaining;
  for (std::string& part : path_components(path)) remaining.push_back(std::move(part));
  std::vector<std::string> resolved;
  FileStat stat = sandbox.stat("/");
  int followed = 0;
  while (!remaining.empty()) {
    std::string name = std::move(remaining.front());
    remaining.pop_front();
    if (name == "..") {
      if (!resolved.empty()) resolved.pop_back();
      stat = sandbox.stat(joined(resolved));
      continue;
    }
    resolved.push_back(std::move(name));
    const std::string candidate = joined(resolved);
    try {
      stat = sandbox.stat(candidate);
    } catch (const Error& error) {
      if (error.code() == Errc::not_found) return std::nullopt;
      throw;
    }
    if (stat.type == FileType::symlink) {
      if (++followed > kMaxLinks)
        throw Error(Errc::invalid_argument, "cp: more than " + std::to_string(kMaxLinks) +
                                                " symlinks to follow from '" + path + "' (a loop?)");
      resolved.pop_back();
      const std::string& target = stat.link_target;
      if (target.empty()) return std::nullopt;
      if (target.front() == '/') resolved.clear();
      const std::vector<std::string> parts = path_components(target);
      remaining.insert(remaining.begin(), parts.begin(), parts.end());
      if (remaining.empty()) stat = sandbox.stat(joined(resolved));
    } else if (stat.type != FileType::directory && !remaining.empty()) {
      return std::nullopt;  // a name below a file
    }
  }
  return ResolvedLink{joined(resolved), std::move(stat)};
}

std::string lexically_normal(const std::string& path) {
  std::vector<std::string> kept;
  for (const std::string& part : path_components(path)) {
    if (part != "..")
      kept.push_back(part);
    else if (!kept.empty())
      kept.pop_back();
  }
  return joined(kept);
}

}  // namespace hutch::cli
