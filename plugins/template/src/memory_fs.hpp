// MemoryFs: a sandbox filesystem kept in a map in memory.
//
// It shows the Fs contract (absolute paths, lstat semantics, errors by Errc) with nothing
// underneath that could escape: the map has no outside, and ".." at the root stays at the
// root, as RESOLVE_IN_ROOT does for a real backend. Replace it with your engine's file access
// (and keep every path confined to the sandbox's root).
#pragma once

#include <hutch/error.hpp>
#include <hutch/fs.hpp>

#include <chrono>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

namespace hutch_template {

class MemoryFs final : public hutch::Fs {
 public:
  // `sandbox_id` names the sandbox in error messages. A write of more than `max_file_bytes`
  // (SandboxSpec::max_file_bytes) is refused; unset: any size.
  explicit MemoryFs(std::string sandbox_id, std::optional<std::uint64_t> max_file_bytes = std::nullopt);

  // After close(), every call throws Errc::state (the sandbox is destroyed).
  void close();

  void read_stream(const std::string& path, const hutch::ChunkSink& sink) override;
  void write_stream(const std::string& path, const hutch::ChunkSource& source,
                    std::uint32_t mode) override;
  void mkdir(const std::string& path, bool parents, std::uint32_t mode) override;
  std::vector<hutch::DirEntry> list(const std::string& path) override;
  hutch::FileStat stat(const std::string& path) override;
  void remove(const std::string& path, bool recursive) override;
  void rename(const std::string& from, const std::string& to) override;
  void symlink(const std::string& target, const std::string& path) override;

 private:
  struct Node {
    hutch::FileType type = hutch::FileType::regular;
    std::string data;         // file content
    std::string link_target;  // symlink target, as given
    std::uint32_t mode = 0644;
    std::chrono::system_clock::time_point mtime = std::chrono::system_clock::now();
  };

  // The callers below hold mutex_.
  void check_open() const;
  // The canonical key of `path`: symlinks in the middle are followed (and the last component
  // too when `follow_last`), ".." never climbs above "/".
  std::string resolve(const std::string& path, bool follow_last) const;
  Node& existing(const std::string& key, const std::string& path);
  void require_parent_directory(const std::string& key, const std::string& path) const;
  bool has_children(const std::string& key) const;
  hutch::FileStat stat_of(const Node& node) const;
  [[noreturn]] void fail(hutch::Errc code, const std::string& path, const std::string& what) const;

  std::string sandbox_id_;
  std::optional<std::uint64_t> max_file_bytes_;
  mutable std::mutex mutex_;
  std::map<std::string, Node> nodes_;  // key: canonical absolute path; "/" always exists
  bool closed_ = false;
};

}  // namespace hutch_template
