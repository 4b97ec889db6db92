// Tar streams of a sandbox's files made by tar(1) running inside the sandbox as root, for the
// paths the engine's archive endpoint does not see: dockerd's archive API works on the
// container's root filesystem as mounted on the host, beneath the tmpfs mounts made inside the
// container, so it would read and write the directory a tmpfs hides (engine_quirks.hpp,
// archive_api_misses_tmpfs). Inside the sandbox, tar sees what the sandbox's programs see, and
// every path resolves within the sandbox (its symlinks included) as the archive API's do.
//
// Needs a tar in the image that knows -C, --no-recursion and --numeric-owner (GNU tar and
// BusyBox's do); without one, Errc::unsupported says so. The streams are the archive API's
// format (a tar whose entries are named relative to the directory given), so DockerFs reads
// and writes both the same way.
#pragma once

#include <hutch/archive.hpp>
#include <hutch/process.hpp>
#include <hutch/types.hpp>

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace hutch::docker {

class TarInSandbox {
 public:
  // Starts argv as root in the sandbox with stdin attached (throws like Handle::spawn).
  using Spawner = std::function<std::unique_ptr<Process>(std::vector<std::string> argv)>;

  explicit TarInSandbox(Spawner spawn_as_root) : spawn_as_root_(std::move(spawn_as_root)) {}

  // The entry of `path` itself (a directory without its content); nullopt when nothing is
  // there. `what` names the operation in errors.
  std::optional<FileStat> stat(const std::string& path, const std::string& what);

  // Hands `use` a tar of `path` (a file, link, or directory with everything below it), or with
  // `contents_only` of what the directory `path` holds, named relative to it. Errc::not_found
  // when `path` does not exist.
  void read(const std::string& path, bool contents_only, const std::string& what,
            const std::function<void(ArchiveReader&)>& use);

  // Extracts the tar that `fill` writes into the existing directory `directory`, keeping the
  // entries' modes and numeric owners.
  void write(const std::string& directory, const std::string& what,
             const std::function<void(ArchiveWriter&)>& fill);

 private:
  std::unique_ptr<Process> start(std::vector<std::string> argv, const std::string& what);
  // Runs a `tar -c` argv and hands its output, read as a tar, to `use`; tar's failure wins
  // over what reading its (then truncated or empty) output threw.
  void run_reading(std::vector<std::string> argv, const std::string& path, const std::string& what,
                   const std::function<void(ArchiveReader&)>& use);

  Spawner spawn_as_root_;
};

}  // namespace hutch::docker
