#include "host_copy.hpp"

#include "sparse_file.hpp"

#include <hutch/error.hpp>
#include <hutch/log.hpp>

#include <spdlog/spdlog.h>

#include <algorithm>
#include <fstream>
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

void copy_sandbox_file(const std::function<void(const ChunkSink&)>& read_data, const fs::path& destination,
                       std::uint32_t mode) {
  clear_for_replacement(destination, false);
  SparseFileWriter out(destination);
  read_data([&](std::string_view chunk) {
    out.write(chunk);
    return true;
  });
  out.finish();
  fs::permissions(destination, static_cast<fs::perms>(mode & kHostModeMask));
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

void copy_sandbox_to_host(Fs& sandbox, const std::string& sandbox_source, const fs::path& host_destination) {
  fs::path target = host_destination;
  if (fs::is_directory(target)) {
    const std::string name = base_name(sandbox_source);
    if (!name.empty()) target /= name;
  }
  std::set<fs::path> made;  // directories of this copy
  // Directories get their modes after their content: a read-only one must still take it.
  std::vector<std::pair<fs::path, std::uint32_t>> directories;
  sandbox.read_tree(sandbox_source, [&](const TreeEntry& entry, const std::function<void(const ChunkSink&)>& read_data) {
    const fs::path destination = host_path_of(entry, target, made, sandbox_source);
    const std::string source = entry.path.empty() ? sandbox_source : join(sandbox_source, entry.path);
    switch (entry.stat.type) {
      case FileType::regular:
        copy_sandbox_file(read_data, destination, entry.stat.mode);
        return;
      case FileType::symlink:
        clear_for_replacement(destination, false);
        fs::create_symlink(entry.stat.link_target, destination);
        return;
      case FileType::directory:
        clear_for_replacement(destination, true);
        fs::create_directory(destination);
        made.insert(destination);
        directories.emplace_back(destination, entry.stat.mode);
        return;
      case FileType::other:
        logger()->warn("cp: skipping '{}': not a regular file, directory or symlink", source);
    }
  });
  for (auto it = directories.rbegin(); it != directories.rend(); ++it)
    fs::permissions(it->first, static_cast<fs::perms>(it->second & kHostModeMask));
}

}  // namespace hutch::cli
