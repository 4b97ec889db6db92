// TreeFs: the fake's Fs, a directory tree on the host that stands for the sandbox's root.
//
// Paths are resolved like a chroot, one component at a time: symlinks are followed inside
// the tree (an absolute target starts again at the tree's root), and a ".." — in the path
// or in a link target — that would climb above the root is refused with
// Errc::permission_denied. No process runs inside a fake sandbox, so nothing can swap a
// component between the check and the use; a real backend needs openat2(RESOLVE_IN_ROOT).
#pragma once

#include <hutch/fs.hpp>

#include <filesystem>
#include <optional>
#include <string>

namespace hutch::fake {

class TreeFs final : public Fs {
 public:
  // `root` is the files/ directory of sandbox `sandbox_id`; once it is gone every call
  // throws Errc::state.
  TreeFs(std::filesystem::path root, std::string sandbox_id);
  // A write of more than `max_bytes` (SandboxSpec::max_file_bytes) is refused; unset: any size.
  void set_max_file_bytes(std::optional<std::uint64_t> max_bytes) { max_file_bytes_ = max_bytes; }

  void read_stream(const std::string& path, const ChunkSink& sink) override;
  void write_stream(const std::string& path, const ChunkSource& source,
                    std::uint32_t mode = 0644) override;
  void mkdir(const std::string& path, bool parents = false, std::uint32_t mode = 0755) override;
  std::vector<DirEntry> list(const std::string& path) override;
  FileStat stat(const std::string& path) override;
  void remove(const std::string& path, bool recursive = false) override;
  void rename(const std::string& from, const std::string& to) override;
  void symlink(const std::string& target, const std::string& path) override;

  // The host path `path` resolves to (for the fake's own commands and tests).
  std::filesystem::path resolve(const std::string& path, bool follow_last) const;

 private:
  void require_alive() const;
  [[noreturn]] void fail(const std::string& verb, const std::string& path, int err) const;

  std::filesystem::path root_;
  std::string sandbox_id_;
  std::optional<std::uint64_t> max_file_bytes_;
};

}  // namespace hutch::fake
