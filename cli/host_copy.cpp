#include "host_copy.hpp"

#include "sandbox_links.hpp"
#include "sparse_file.hpp"

#include <hutch/error.hpp>
#include <hutch/log.hpp>

#include <spdlog/spdlog.h>

#include <unistd.h>

#include <algorithm>
#include <fstream>
#include <iostream>
#include <optional>
#include <functional>
#include <set>
#include <utility>
#include <vector>

namespace hutch::cli {

namespace {

namespace fs = std::filesystem;

constexpr std::size_t kChunkBytes = 256 * 1024;
// Files from a sandbox are untrusted: never let them arrive setuid, setgid or sticky.
constexpr std::uint32_t kHostModeMask = 0777;

std::string join(const std::string& directory, const std::string& name) {
  return directory.ends_with('/') ? directory + name : directory + "/" + name;
}

std::string base_name(const std::string& sandbox_path) {
  std::string trimmed = sandbox_path;
  while (trimmed.size() > 1 && trimmed.ends_with('/')) trimmed.pop_back();
  return trimmed.substr(trimmed.find_last_of('/') + 1);
}

std::uint32_t mode_of(const fs::file_status& status) {
  return static_cast<std::uint32_t>(status.permissions()) & 07777;
}

void copy_host_file(const fs::path& source, Fs& sandbox, const std::string& destination,
                    std::uint32_t mode) {
  std::ifstream in(source, std::ios::binary);
  if (!in) throw Error(Errc::io, "cp: cannot open host file '" + source.string() + "' for reading");
  std::vector<char> buffer(kChunkBytes);
  sandbox.write_stream(
      destination,
      [&]() -> std::string_view {
        in.read(buffer.data(), static_cast<std::streamsize>(buffer.size()));
        if (in.bad()) throw Error(Errc::io, "cp: reading host file '" + source.string() + "' failed");
        return {buffer.data(), static_cast<std::size_t>(in.gcount())};
      },
      mode);
}

void copy_host_tree(const fs::path& source, Fs& sandbox, const std::string& destination) {
  const fs::file_status status = fs::symlink_status(source);
  switch (status.type()) {
    case fs::file_type::regular:
      copy_host_file(source, sandbox, destination, mode_of(status));
      return;
    case fs::file_type::symlink:
      if (sandbox.exists(destination)) sandbox.remove(destination);
      sandbox.symlink(fs::read_symlink(source).string(), destination);
      return;
    case fs::file_type::directory: {
      if (!sandbox.exists(destination)) sandbox.mkdir(destination, false, mode_of(status));
      else if (sandbox.stat(destination).type != FileType::directory)
        throw Error(Errc::already_exists,
                    "cp: cannot copy directory '" + source.string() + "' over non-directory '" + destination + "'");
      std::vector<fs::path> entries;
      for (const auto& entry : fs::directory_iterator(source)) entries.push_back(entry.path());
      std::sort(entries.begin(), entries.end());
      for (const fs::path& entry : entries)
        copy_host_tree(entry, sandbox, join(destination, entry.filename().string()));
      return;
    }
    case fs::file_type::not_found:
      throw Error(Errc::not_found, "cp: host path '" + source.string() + "' does not exist");
    default:
      logger()->warn("cp: skipping '{}': not a regular file, directory or symlink", source.string());
  }
}

// Makes room for a new entry at `path`. A symlink already there is replaced rather than
// followed: it could point anywhere on the host. An existing directory is kept for a directory
// and refused for anything else, as cp does.
void clear_for_replacement(const fs::path& path, bool for_directory) {
  const fs::file_status status = fs::symlink_status(path);
  switch (status.type()) {
    case fs::file_type::not_found:
      return;
    case fs::file_type::directory:
      if (for_directory) return;
      throw Error(Errc::already_exists,
                  "cp: cannot overwrite directory '" + path.string() + "' with a non-directory");
    case fs::file_type::symlink:
      fs::remove(path);
      return;
    default:
      if (for_directory)
        throw Error(Errc::already_exists,
                    "cp: cannot overwrite non-directory '" + path.string() + "' with a directory");
      fs::remove(path);
  }
}

// Writes the file under a temporary name beside `destination` and renames it into place, so a
// read the sandbox refuses (or that fails half-way) leaves nothing behind on the host, and an
// existing file or symlink there is replaced, never written through.
void copy_sandbox_file(const std::function<void(const ChunkSink&)>& read_data, const fs::path& destination,
                       std::uint32_t mode) {
  if (fs::symlink_status(destination).type() == fs::file_type::directory)
    throw Error(Errc::already_exists,
                "cp: cannot overwrite directory '" + destination.string() + "' with a non-directory");
  const fs::path partial =
      destination.parent_path() / ("." + destination.filename().string() + ".hutch-cp-" + std::to_string(::getpid()));
  try {
    SparseFileWriter out(partial);
    read_data([&](std::string_view chunk) {
      out.write(chunk);
      return true;
    });
    out.finish();
    fs::permissions(partial, static_cast<fs::perms>(mode & kHostModeMask));
    fs::rename(partial, destination);
  } catch (...) {
    std::error_code ignored;
    fs::remove(partial, ignored);
    throw;
  }
}

// Where a tree entry goes on the host. Its path must be plain names below the tree's root,
// and its parent a directory this copy made: nothing is ever written through a host symlink
// or outside `root`.
fs::path host_path_of(const TreeEntry& entry, const fs::path& root, const std::set<fs::path>& made,
                      const std::string& source) {
  if (entry.path.empty()) return root;
  const std::vector<std::string> parts = path_components(entry.path);
  std::string plain;
  for (const std::string& part : parts) plain += (plain.empty() ? "" : "/") + part;
  if (plain != entry.path || std::find(parts.begin(), parts.end(), "..") != parts.end())
    throw Error(Errc::io, "cp: the sandbox named an entry '" + entry.path + "' below '" + source + "'; refusing it");
  const fs::path destination = root / entry.path;
  if (!made.contains(destination.parent_path()))
    throw Error(Errc::io, "cp: entry '" + entry.path + "' of '" + source + "' came without its directory");
  return destination;
}

// One copy out of a sandbox: trees read with Fs::read_tree, and the links in them either
// reproduced (link_stays_inside, unless follow_links) or replaced by what they point to inside
// the sandbox, which is copied in turn.
class SandboxTreeCopy {
 public:
  SandboxTreeCopy(Fs& sandbox, bool follow_links) : sandbox_(sandbox), follow_links_(follow_links) {}

  // Copies the tree at `source` (an entry of any type) to `target`.
  void tree(const std::string& source, const fs::path& target) {
    std::set<fs::path> made;  // directories of this tree
    // Links to copy as what they point to: after the walk, which must not be re-entered.
    std::vector<std::pair<std::string, fs::path>> to_resolve;
    sandbox_.read_tree(source, [&](const TreeEntry& entry, const std::function<void(const ChunkSink&)>& read_data) {
      const fs::path destination = host_path_of(entry, target, made, source);
      const std::string path = entry.path.empty() ? source : join(source, entry.path);
      switch (entry.stat.type) {
        case FileType::regular:
          copy_sandbox_file(read_data, destination, entry.stat.mode);
          return;
        case FileType::symlink:
          if (!follow_links_ && link_stays_inside(entry.path, entry.stat.link_target)) {
            clear_for_replacement(destination, false);
            fs::create_symlink(entry.stat.link_target, destination);
          } else {
            to_resolve.emplace_back(path, destination);
          }
          return;
        case FileType::directory:
          clear_for_replacement(destination, true);
          fs::create_directory(destination);
          made.insert(destination);
          directories_.emplace_back(destination, entry.stat.mode);
          return;
        case FileType::other:
          logger()->warn("cp: skipping '{}': not a regular file, directory or symlink", path);
      }
    });
    for (const auto& [link, destination] : to_resolve) copy_link_target(link, destination);
  }

  // Gives the directories their modes, after their content: a read-only one must still take it.
  void finish() {
    for (auto it = directories_.rbegin(); it != directories_.rend(); ++it)
      fs::permissions(it->first, static_cast<fs::perms>(it->second & kHostModeMask));
  }

 private:
  void copy_link_target(const std::string& link, const fs::path& destination) {
    const std::optional<ResolvedLink> resolved = resolve_link(sandbox_, link);
    if (!resolved) {
      std::cerr << "hutch: warning: cp: skipping '" << link << "': the link points at nothing in the sandbox"
                << std::endl;
      return;
    }
    if (resolved->stat.type == FileType::directory) {
      // A link to a directory that holds it (or one being copied through another link) would
      // copy itself forever.
      const std::string directory = lexically_normal(resolved->path);
      const std::string from = lexically_normal(link);
      auto contains = [&directory](const std::string& path) {
        return directory == "/" || path == directory || path.starts_with(directory + "/");
      };
      if (contains(from) || std::any_of(through_.begin(), through_.end(), contains)) {
        std::cerr << "hutch: warning: cp: skipping '" << link << "': it points at '" << resolved->path
                  << "', which contains it" << std::endl;
        return;
      }
      through_.push_back(directory);
      tree(resolved->path, destination);
      through_.pop_back();
      return;
    }
    // Regular files and the rest, as read_tree reports them.
    tree(resolved->path, destination);
  }

  Fs& sandbox_;
  const bool follow_links_;
  std::vector<std::string> through_;  // directories being copied through links, outermost first
  std::vector<std::pair<fs::path, std::uint32_t>> directories_;
};

}  // namespace

void copy_host_to_sandbox(const fs::path& host_source, Fs& sandbox, const std::string& sandbox_destination) {
  if (fs::symlink_status(host_source).type() == fs::file_type::not_found)
    throw Error(Errc::not_found, "cp: host path '" + host_source.string() + "' does not exist");
  std::string target = sandbox_destination;
  if (sandbox.exists(target) && sandbox.stat(target).type == FileType::directory) {
    fs::path normal = host_source.lexically_normal();
    if (normal.filename().empty()) normal = normal.parent_path();  // "dir/" names "dir"
    const std::string name = normal.filename().string();
    if (!name.empty() && name != "." && name != "..") target = join(target, name);
  }
  copy_host_tree(host_source, sandbox, target);
}

void copy_sandbox_to_host(Fs& sandbox, const std::string& sandbox_source, const fs::path& host_destination,
                          bool follow_links) {
  fs::path target = host_destination;
  if (fs::is_directory(target)) {
    const std::string name = base_name(sandbox_source);
    if (!name.empty()) target /= name;
  }
  SandboxTreeCopy copy(sandbox, follow_links);
  copy.tree(sandbox_source, target);
  copy.finish();
}

}  // namespace hutch::cli
