// The files of one sandbox below its root directory, as the fs helper (server.hpp) serves them
// to the host. Runs with whatever credentials its process has: in the helper, the sandbox
// root's, so the kernel allows exactly what root inside the sandbox may do.
//
// Paths are resolved with openat2(RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS) relative to the
// root fd, so "..", absolute symlinks and /proc/self/root tricks stay inside the sandbox; the
// last component of a path that is removed, renamed, created or lstat'ed is never followed.
//
// Nothing on a kernel interface filesystem (kernel_filesystems.hpp) is ever opened: a file is
// first reached with O_PATH (which runs none of its filesystem's open code), checked with
// fstatfs and fstat, and only then reopened for reading or writing through /proc/self/fd —
// the very file that was checked, so a symlink the sandbox swaps meanwhile changes nothing.
// Directories that are listed, created in, or removed from are checked the same way.
// Nothing ever waits: FIFOs, devices and sockets are refused before they are opened, and
// opens are non-blocking (a leased file fails instead of waiting for the lease).
#pragma once

#include "agent/unique_fd.hpp"

#include <hutch/error.hpp>
#include <hutch/fs.hpp>

#include <sys/types.h>

#include <stdexcept>
#include <string>
#include <vector>

namespace hutch::subcontainer {

// A refused or failed operation: the code the host reports and a message that names the path.
class TreeError : public std::runtime_error {
 public:
  TreeError(Errc code, const std::string& message) : std::runtime_error(message), code_(code) {}
  Errc code() const noexcept { return code_; }

 private:
  Errc code_;
};

class RootTree {
 public:
  // `root`: the sandbox's root directory (O_PATH is enough). The files opened for reading and
  // writing are reopened through this process's /proc/self/fd, opened here once.
  // TreeError when /proc/self/fd cannot be opened or is not on procfs.
  explicit RootTree(agent::UniqueFd root);

  // Every call: Errc::invalid_argument for a path that is not absolute or has a NUL byte;
  // Errc::permission_denied, naming the path and the filesystem, for anything on a kernel
  // interface filesystem; otherwise the kernel's refusal mapped to an Errc (ENOENT: not_found,
  // EEXIST/ENOTEMPTY: already_exists, EACCES/EPERM/EROFS/EXDEV: permission_denied, ...).

  // The regular file at `path` (symlinks followed inside the root), reached with O_PATH and
  // checked: a directory is invalid_argument (EISDIR), and so is a FIFO, device or socket.
  // `what` names the operation in messages ("read").
  agent::UniqueFd resolve_file(const std::string& path, const char* what) const;
  // Opens `checked` (from resolve_file) again with `flags` (O_RDONLY, O_WRONLY, ...), close-on-exec.
  agent::UniqueFd reopen(const agent::UniqueFd& checked, int flags, const std::string& path) const;

  // resolve_file + reopen for reading.
  agent::UniqueFd open_for_reading(const std::string& path) const;
  // Creates `path` or truncates the regular file there, as Fs::write_stream does: a final
  // symlink is followed (inside the root) and a dangling one creates its target, like a shell
  // redirect inside would. The file ends up with exactly `mode` (07777 bits).
  agent::UniqueFd open_for_writing(const std::string& path, mode_t mode) const;

  // The other verbs of hutch::Fs (include/hutch/fs.hpp), with its contracts. Ids in FileStat are
  // as this process sees them: for the helper, as they are inside the sandbox.
  void mkdir(const std::string& path, bool parents, mode_t mode) const;
  std::vector<DirEntry> list(const std::string& path) const;
  FileStat stat(const std::string& path) const;
  void remove(const std::string& path, bool recursive) const;
  void rename(const std::string& from, const std::string& to) const;
  void symlink(const std::string& target, const std::string& path) const;

 private:
  struct Parent {
    agent::UniqueFd dir;  // the resolved parent directory, O_PATH
    std::string path;     // its path, as given
    std::string name;     // the last component, never "." or ".."
  };

  agent::UniqueFd open_in_root(const std::string& path, int flags, mode_t mode = 0) const;
  Parent open_parent(const std::string& path) const;
  // Permission denied when `fd` is on a kernel interface filesystem; `what` and `path` for the message.
  void refuse_kernel_filesystem(int fd, const char* what, const std::string& path) const;
  // The directory `name` below `dir_fd` (never a symlink), checked, opened for reading.
  agent::UniqueFd open_child_directory(int dir_fd, const std::string& name, const char* what,
                                       const std::string& path) const;
  // Truncates and chmods a file reopened for writing.
  agent::UniqueFd open_existing_for_writing(const agent::UniqueFd& checked, mode_t mode, const std::string& path) const;
  void make_directory(const std::string& path, mode_t mode, bool exist_ok) const;
  void remove_children(int dir_fd, const std::string& path) const;

  agent::UniqueFd root_;
  agent::UniqueFd own_fds_;  // /proc/self/fd of this process
};

}  // namespace hutch::subcontainer
