// An exclusive flock(2) on a lock file, held for the object's lifetime: how several hutch
// processes serialize changes to the image store, the blob store and the id ranges. The
// kernel drops it when the process dies, so a crash never leaves a store locked.
#pragma once

#include "agent/unique_fd.hpp"

#include <filesystem>
#include <optional>

namespace hutch::egress {

using agent::UniqueFd;

class FileLock {
 public:
  // Opens (creating, mode 0600, never through a symlink) `file` and waits for the lock.
  // Errc::io naming the file when it cannot be opened or locked.
  explicit FileLock(const std::filesystem::path& file);
  // The lock when nobody holds it, else nullopt without waiting.
  static std::optional<FileLock> try_lock(const std::filesystem::path& file);
  // A shared lock: any number of holders at once, none while someone holds it exclusively.
  static FileLock shared(const std::filesystem::path& file);

 private:
  FileLock() = default;
  UniqueFd fd_;
};

}  // namespace hutch::egress
