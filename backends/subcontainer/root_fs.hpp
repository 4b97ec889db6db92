// hutch::Fs over a live sandbox's root directory, reached from the host.
//
// The runtime opens /proc/<leader-pid>/root (O_PATH|O_DIRECTORY) and hands the fd over.
// Every path is resolved with openat2(RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS) relative to
// it, so "..", absolute symlinks and /proc/self/root tricks stay inside the sandbox; the last
// component of a path that is removed, renamed, created or lstat'ed is never followed.
//
// Every call that changes the tree runs, on the calling thread only, with fsuid/fsgid set to
// the host ids that are root inside the sandbox and the filesystem capabilities kept (but
// never while a caller's callback runs). So new entries belong to root inside, and a root
// host can create files on the sandbox's overlay and tmpfs, which live in the sandbox's user
// namespace where host uid 0 has no mapping (EOVERFLOW otherwise). Rootless, the host ids
// already are those ids and nothing changes. Reads run with the caller's own ids.
#pragma once

#include "unique_fd.hpp"

#include <hutch/fs.hpp>

#include <sys/types.h>

#include <cstdint>
#include <string>
#include <vector>

namespace hutch::subcontainer {

class RootFs final : public hutch::Fs {
 public:
  // `owner_uid`/`owner_gid`: host ids of root inside; `id_count`: how many ids the sandbox's
  // user namespace maps from there (uid_count; 1 rootless). stat() reports ids inside.
  RootFs(UniqueFd root, uid_t owner_uid, gid_t owner_gid, std::uint32_t id_count = 65536);

  void read_stream(const std::string& path, const ChunkSink& sink) override;
  void write_stream(const std::string& path, const ChunkSource& source,
                    std::uint32_t mode = 0644) override;
  void mkdir(const std::string& path, bool parents = false, std::uint32_t mode = 0755) override;
  std::vector<DirEntry> list(const std::string& path) override;
  FileStat stat(const std::string& path) override;
  void remove(const std::string& path, bool recursive = false) override;
  void rename(const std::string& from, const std::string& to) override;
  void symlink(const std::string& target, const std::string& path) override;

  // Bytes per read_stream chunk and the largest write buffer kept.
  static constexpr std::size_t kChunkSize = 256 * 1024;

 private:
  struct Parent {
    UniqueFd dir;      // the resolved parent directory
    std::string name;  // the last component, never "." or ".."
  };

  UniqueFd open_in_root(const std::string& path, int flags, mode_t mode = 0) const;
  Parent open_parent(const std::string& path) const;
  // Creates or truncates `clean` as root inside, with exactly `mode`.
  UniqueFd open_for_writing(const std::string& clean, mode_t mode) const;
  FileStat stat_at(int dir_fd, const std::string& name, const std::string& path) const;
  void make_directory(const std::string& clean, std::uint32_t mode, bool exist_ok) const;
  std::uint32_t inside_uid(std::uint32_t host) const;
  std::uint32_t inside_gid(std::uint32_t host) const;

  UniqueFd root_;
  uid_t owner_uid_;
  gid_t owner_gid_;
  std::uint32_t id_count_;
};

}  // namespace hutch::subcontainer
