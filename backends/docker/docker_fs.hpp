// Fs of a container through the archive API: GET (read, list), HEAD (stat), PUT (write, mkdir,
// symlink) on /containers/{id}/archive, with tar via libarchive. The daemon resolves paths
// inside the container's root (symlinks included), and "..": every path is normalized with
// hutch::normalize_sandbox_path and refused with Errc::permission_denied if ".." remains.
// remove, rename and symlink have no (usable) archive equivalent: they run busybox-style
// rm / rmdir / mv / ln as root inside the container, a fixed argv with the paths after "--"
// (no shell), through whatever runs the sandbox's commands (the agent when the sandbox has
// one, else the exec API). Files and directories written belong to the sandbox's user when it
// is numeric ("1000" or "1000:1000"), else to root.
#pragma once

#include "context.hpp"

#include <hutch/archive.hpp>
#include <hutch/fs.hpp>

#include <atomic>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace hutch::docker {

// The path after the sandbox path rules; throws Errc::permission_denied for "..".
std::string checked_sandbox_path(const std::string& path);

// Decodes X-Docker-Container-Path-Stat (base64 JSON with a Go os.FileMode).
FileStat parse_path_stat(const std::string& header_value);

class DockerFs final : public Fs {
 public:
  // Runs argv as root in the container to completion (throws like Handle::exec).
  using ToolRunner = std::function<ExecResult(std::vector<std::string> argv)>;

  // `check_alive` throws Errc::state once the sandbox is destroyed; `user` is the sandbox's.
  DockerFs(std::shared_ptr<Context> context, std::string container, std::function<void()> check_alive,
           const std::string& user, ToolRunner run_as_root);
  // A write of more than `max_bytes` (SandboxSpec::max_file_bytes) is refused; unset: any size.
  void set_max_file_bytes(std::optional<std::uint64_t> max_bytes) { max_file_bytes_ = max_bytes; }

  void read_stream(const std::string& path, const ChunkSink& sink) override;
  void write_stream(const std::string& path, const ChunkSource& source, std::uint32_t mode) override;
  void mkdir(const std::string& path, bool parents, std::uint32_t mode) override;
  std::vector<DirEntry> list(const std::string& path) override;
  // A directory comes in one archive (list at every level would fetch each subtree again).
  void read_tree(const std::string& path, const TreeVisitor& visit) override;
  FileStat stat(const std::string& path) override;
  void remove(const std::string& path, bool recursive) override;
  void rename(const std::string& from, const std::string& to) override;
  void symlink(const std::string& target, const std::string& path) override;

  // A create's manifest in one archive request (add_files_to_archive), instead of a few
  // round trips to the engine for each file and directory.
  void stage_files(const std::vector<SandboxFile>& files);

 private:
  std::string archive_target(const std::string& path) const;
  // How a tar from the archive endpoint is named in errors: "sandbox <id>:<path>".
  std::string archive_name(const std::string& path) const;
  // PUT a tar made by `fill` into directory `directory`.
  void put_archive(const std::string& directory, const std::string& what,
                   const std::function<void(ArchiveWriter&)>& fill);
  void run_tool(std::vector<std::string> argv, const std::string& what);

  std::shared_ptr<Context> context_;
  std::string container_;
  std::function<void()> check_alive_;
  ToolRunner run_as_root_;
  std::uint32_t owner_uid_ = 0;
  std::uint32_t owner_gid_ = 0;
  std::optional<std::uint64_t> max_file_bytes_;
};

// "1000" -> {1000, 1000}, "1000:50" -> {1000, 50}; anything else (names, empty) -> {0, 0}.
std::pair<std::uint32_t, std::uint32_t> numeric_owner(const std::string& user);

}  // namespace hutch::docker
