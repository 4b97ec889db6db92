// Resolves "name", "uid" or "uid:gid" against the sandbox's own /etc/passwd and /etc/group
// (never the host's: the command runs after pivot_root).
#pragma once

#include <sys/types.h>

#include <string>
#include <vector>

namespace hutch::agent {

struct ExecUser {
  uid_t uid = 0;
  gid_t gid = 0;
  std::vector<gid_t> groups;  // supplementary
  std::string home = "/";
};

// False with `error` set when a name is unknown or the text is malformed.
bool lookup_user(const std::string& spec, ExecUser& user, std::string& error);

// A lookup done ahead, while a shepherd waits for a request, so that an exec does not read
// /etc/passwd and /etc/group on its way in. It is used only while both files are unchanged
// (same inode, size, mtime and ctime); otherwise the lookup is done again.
class PreparedUser {
 public:
  void prepare(const std::string& spec);
  // Prepares again when the files changed since.
  void refresh();
  bool get(const std::string& spec, ExecUser& user, std::string& error) const;

 private:
  struct Stamp {
    bool exists = false;
    dev_t dev = 0;
    ino_t ino = 0;
    off_t size = 0;
    long mtime_sec = 0, mtime_nsec = 0, ctime_sec = 0, ctime_nsec = 0;
    bool operator==(const Stamp&) const = default;
  };
  static Stamp stamp(const char* path);

  bool prepared_ = false;
  std::string spec_;
  Stamp passwd_, group_;
  bool ok_ = false;
  ExecUser user_;
  std::string error_;
};

}  // namespace hutch::agent
