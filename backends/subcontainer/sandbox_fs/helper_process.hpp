// The fs helper process (server.hpp) of one host-side Fs: exec'd by the host, connected over a
// socketpair, killed and reaped when this goes.
#pragma once

#include "agent/unique_fd.hpp"

#include <sys/types.h>

#include <filesystem>
#include <string>

namespace hutch::subcontainer {

// What the helper needs of a sandbox, opened from its leader by the host.
struct LeaderFiles {
  agent::UniqueFd user_namespace;  // /proc/<leader>/ns/user
  agent::UniqueFd root;            // /proc/<leader>/root, O_PATH
  agent::UniqueFd net_namespace;   // /proc/<leader>/ns/net (the port connections are made there)
};

class FsHelperProcess {
 public:
  // Starts `helper fs` with the leader's files and waits for its hello. `id` names the sandbox
  // in errors: Errc::backend when the helper cannot start or cannot take the sandbox's
  // credentials (its own message says why).
  FsHelperProcess(const std::filesystem::path& helper, const std::string& id, LeaderFiles leader);
  FsHelperProcess(const FsHelperProcess&) = delete;
  FsHelperProcess& operator=(const FsHelperProcess&) = delete;
  // SIGKILL through the pidfd (whoever else reaps children, the signal reaches this one), then
  // waits for it: no helper outlives its Fs.
  ~FsHelperProcess();

  // The host's end of the socketpair.
  int socket() const { return socket_.get(); }
  pid_t pid() const { return pid_; }

 private:
  void stop() noexcept;

  agent::UniqueFd socket_;
  pid_t pid_ = -1;
  agent::UniqueFd pidfd_;
};

}  // namespace hutch::subcontainer
