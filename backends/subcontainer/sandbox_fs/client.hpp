// hutch::Fs of a live subcontainer sandbox, as the host uses it (hutch cp, the service's file
// API). Every operation is done by the sandbox's fs helper (server.hpp) — a process with the
// credentials of root inside the sandbox, resolving inside its root and never opening a file on
// a kernel interface filesystem (root_tree.hpp) — so the host can do nothing to the sandbox's
// files that root inside could not do, and nothing through them to the host.
//
// The helper starts with the first call and lives as long as this object. One that died while
// idle is replaced for the next call; one that dies during a call fails that call
// (Errc::backend), and the next one starts a new helper. Data does not pass through it: for reads and writes it opens the file
// and hands the descriptor over, and the host reads or writes that, after checking again that
// it is a regular file on an ordinary filesystem. Thread-safe: requests to the helper take
// turns; the data of reads and writes moves in parallel.
#pragma once

#include "sandbox_fs/helper_process.hpp"

#include <hutch/fs.hpp>

#include <filesystem>
#include <functional>
#include <optional>
#include <memory>
#include <mutex>
#include <string>

namespace hutch::subcontainer {

class SandboxFs final : public hutch::Fs {
 public:
  // `helper`: the hutch-subcontainer-helper executable; `id` names the sandbox in errors;
  // `open_leader` opens the sandbox leader's files for each helper start (it throws
  // Errc::state when the sandbox is gone).
  SandboxFs(std::filesystem::path helper, std::string id, std::function<LeaderFiles()> open_leader);
  // A write of more than `max_bytes` (SandboxSpec::max_file_bytes) is refused; unset: any size.
  void set_max_file_bytes(std::optional<std::uint64_t> max_bytes) { max_file_bytes_ = max_bytes; }
  ~SandboxFs() override;

  // The contracts of include/hutch/fs.hpp. Besides those errors: Errc::permission_denied,
  // naming the path and the filesystem, for anything on a kernel interface filesystem (proc,
  // sysfs, cgroup, ...), and for what root inside the sandbox may not do (a host file bound in
  // under an owner the sandbox does not map); Errc::backend when the helper fails.
  void read_stream(const std::string& path, const ChunkSink& sink) override;
  void write_stream(const std::string& path, const ChunkSource& source, std::uint32_t mode = 0644) override;
  void mkdir(const std::string& path, bool parents = false, std::uint32_t mode = 0755) override;
  std::vector<DirEntry> list(const std::string& path) override;
  FileStat stat(const std::string& path) override;
  void remove(const std::string& path, bool recursive = false) override;
  void rename(const std::string& from, const std::string& to) override;
  void symlink(const std::string& target, const std::string& path) override;
  // A TCP socket connected to `port` on the sandbox's loopback, made by the helper inside the
  // sandbox's network namespace (Handle::connect_port's contract).
  agent::UniqueFd connect_port(std::uint16_t port);

  // Ends the helper (after the request in progress, if any) and runs `body` (a stop or destroy
  // of the sandbox) before any other call may start a new one; calls made meanwhile wait, then
  // start a helper for the sandbox as it is then, or fail with Errc::state when it is down or
  // gone (`open_leader`).
  void without_helper(const std::function<void()>& body);

  // Bytes per read_stream chunk.
  static constexpr std::size_t kChunkSize = 256 * 1024;

 private:
  struct Reply {
    std::string result;      // the reply after its status byte
    agent::UniqueFd passed;  // the file of open_read / open_write
  };
  // Sends one request and returns the helper's answer; a refusal is thrown as its hutch::Error.
  Reply call(const std::string& request);
  // The file of an open_read/open_write reply, checked again on this side.
  agent::UniqueFd received_file(Reply reply, const char* what, const std::string& path) const;

  std::filesystem::path helper_;
  std::string id_;
  std::function<LeaderFiles()> open_leader_;
  std::optional<std::uint64_t> max_file_bytes_;
  std::mutex mutex_;
  std::unique_ptr<FsHelperProcess> process_;  // started by the first call
};

}  // namespace hutch::subcontainer
