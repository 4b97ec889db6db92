// Fs: the files of one sandbox.
//
// Every path is absolute *inside the sandbox*. A backend must resolve it so that nothing
// outside the sandbox root is ever reached: "..", absolute symlinks and magic links stay
// inside (subcontainer: openat2 RESOLVE_IN_ROOT; docker: the archive API on the container).
// A path that is not absolute, or contains a NUL byte, is Errc::invalid_argument.
//
// Errors: Errc::not_found when the path (or a parent) does not exist, Errc::already_exists
// when a create would overwrite and the call does not allow it, Errc::io for a failed read or
// write, Errc::state when the sandbox is gone. An Fs is valid as long as its Handle is.
#pragma once

#include <hutch/export.hpp>

#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace hutch {

enum class FileType { regular, directory, symlink, other };

struct FileStat {
  FileType type = FileType::other;
  std::uint64_t size = 0;
  std::uint32_t mode = 0;  // permission bits (07777)
  std::uint32_t uid = 0;   // as seen inside the sandbox
  std::uint32_t gid = 0;
  std::chrono::system_clock::time_point mtime{};
  std::string link_target;  // for symlinks
};

struct DirEntry {
  std::string name;  // no slashes
  FileStat stat;     // lstat of the entry (symlinks are not followed)
};

// Receives successive chunks of a file; return false to stop early.
using ChunkSink = std::function<bool(std::string_view chunk)>;
// Produces successive chunks; an empty chunk means the end.
using ChunkSource = std::function<std::string_view()>;

// One entry of a tree walked by Fs::read_tree.
struct TreeEntry {
  std::string path;  // relative to the tree's root, "a/b"; "" for the root itself
  FileStat stat;     // lstat of the entry
};
// Called once per entry. For a regular file, `read_data` streams its content (at most once,
// and only during the call); for other entries it does nothing.
using TreeVisitor =
    std::function<void(const TreeEntry& entry, const std::function<void(const ChunkSink&)>& read_data)>;

// How write creates a file.
struct WriteOptions {
  std::uint32_t mode = 0644;  // permission bits of a new (or truncated) file
  bool parents = false;       // create missing parent directories (0755) first, as mkdir -p
};

class HUTCH_INTERFACE Fs {
 public:
  virtual ~Fs() = default;

  // read, read_stream, write and write_stream work on regular files (symlinks followed).
  // Reading a FIFO, device or socket is Errc::invalid_argument; writing to the path of one is
  // refused the same way or replaces it with a regular file (backends differ). Neither ever
  // waits for the other end of a FIFO made in the sandbox.

  // Whole-file read. For large files prefer read_stream.
  virtual std::string read(const std::string& path);
  // Streams the file in chunks of the backend's choosing; memory stays bounded.
  virtual void read_stream(const std::string& path, const ChunkSink& sink) = 0;

  // Creates or truncates `path` (parents must exist) with permission bits `mode`.
  virtual void write(const std::string& path, std::string_view data, std::uint32_t mode = 0644);
  // Streams the content from `source` until it returns an empty chunk.
  // A sandbox made with SandboxSpec::max_file_bytes refuses content beyond it with
  // Errc::invalid_argument naming the limit (what was written before that may stay).
  virtual void write_stream(const std::string& path, const ChunkSource& source,
                            std::uint32_t mode = 0644) = 0;
  // write / write_stream with options: `{.parents = true}` creates missing parents first
  // (TanStack's and StartOS's writeFile). Not virtual: mkdir and write_stream do the work.
  void write(const std::string& path, std::string_view data, const WriteOptions& options);
  void write_stream(const std::string& path, const ChunkSource& source, const WriteOptions& options);

  // Creates a directory. With `parents`, missing parents are created and an existing
  // directory is not an error (mkdir -p).
  virtual void mkdir(const std::string& path, bool parents = false, std::uint32_t mode = 0755) = 0;

  // The entries of a directory, without "." and "..", sorted by name.
  virtual std::vector<DirEntry> list(const std::string& path) = 0;

  // Walks the tree at `path` (a directory, or a single entry of another type), parents before
  // their children, calling `visit` for each entry; symlinks are reported, not followed.
  // Entry paths never contain "." or ".." components. The default uses stat, list and
  // read_stream; a backend that can fetch a tree in one go overrides it (docker: one archive,
  // where list would fetch the subtree again at every level).
  virtual void read_tree(const std::string& path, const TreeVisitor& visit);

  // lstat: a symlink is reported as a symlink.
  virtual FileStat stat(const std::string& path) = 0;
  // True when `path` exists (lstat succeeds); never throws not_found.
  virtual bool exists(const std::string& path);

  // Removes a file, symlink or empty directory; `recursive` removes a tree (rm -r).
  virtual void remove(const std::string& path, bool recursive = false) = 0;

  // Atomic rename within the sandbox; replaces an existing file at `to`.
  virtual void rename(const std::string& from, const std::string& to) = 0;

  // Creates a symlink at `path` pointing at `target` (stored as given).
  virtual void symlink(const std::string& target, const std::string& path) = 0;
};

// Wraps `source` so that more than `limit` bytes in total throw Errc::invalid_argument
// "<what>: more than <limit> bytes (the sandbox's max_file_bytes)". No limit: `source` itself.
HUTCH_API ChunkSource limit_file_size(ChunkSource source, std::optional<std::uint64_t> limit,
                                      std::string what);

// Checks the path rules above and returns the path with duplicate slashes and "." removed.
// ".." components are kept: the backend's resolver confines them to the root.
HUTCH_API std::string normalize_sandbox_path(std::string_view path);

// The names between the slashes of `path`, without empty ones and ".": "/a//./b/" and "a/b"
// both give {"a", "b"}. ".." is kept, for the caller to refuse or resolve. No other check.
HUTCH_API std::vector<std::string> path_components(std::string_view path);

}  // namespace hutch
