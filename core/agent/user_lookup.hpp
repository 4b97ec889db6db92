// Resolves "name", "uid" or "uid:gid" against the sandbox's own /etc/passwd and /etc/group
// (never the host's: the command runs after pivot_root).
#pragma once

#include <sys/types.h>

#include <string>
#include <vector>

namespace sbx::agent {

struct ExecUser {
  uid_t uid = 0;
  gid_t gid = 0;
  std::vector<gid_t> groups;  // supplementary
  std::string home = "/";
};

// False with `error` set when a name is unknown or the text is malformed.
bool lookup_user(const std::string& spec, ExecUser& user, std::string& error);

}  // namespace sbx::agent
