#include "userns.hpp"

#include "fail.hpp"

#include <fcntl.h>
#include <grp.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace hutch::subcontainer::helper {
namespace {

std::string write_proc_file(pid_t child, const char* name, const std::string& content) {
  std::string path = "/proc/" + std::to_string(child) + "/" + name;
  int fd = ::open(path.c_str(), O_WRONLY | O_CLOEXEC);
  if (fd < 0) return "open " + path + ": " + std::strerror(errno);
  ssize_t written = ::write(fd, content.data(), content.size());
  int err = errno;
  ::close(fd);
  if (written != static_cast<ssize_t>(content.size()))
    return "write '" + content + "' to " + path + ": " + std::strerror(err);
  return {};
}

std::string format_map(const std::vector<IdMapLine>& lines) {
  std::string text;
  for (const auto& line : lines)
    text += std::to_string(line.inside) + " " + std::to_string(line.outside) + " " +
            std::to_string(line.count) + "\n";
  return text;
}

}  // namespace

std::string write_id_maps(pid_t child, const Plan& plan) {
  // Without privilege over the parent namespace, the kernel accepts a gid_map only once
  // setgroups is denied (so dropping a group cannot grant access).
  if (plan.deny_setgroups) {
    if (auto error = write_proc_file(child, "setgroups", "deny"); !error.empty()) return error;
  }
  if (auto error = write_proc_file(child, "uid_map", format_map(plan.uid_map)); !error.empty())
    return error;
  return write_proc_file(child, "gid_map", format_map(plan.gid_map));
}

namespace {

// The host ids root inside maps to: the outside id of the map line that starts at 0.
bool namespace_owner(const Plan& plan, uid_t& uid, gid_t& gid) {
  if (::geteuid() != 0 || plan.uid_map.empty() || plan.gid_map.empty()) return false;
  if (plan.uid_map[0].inside != 0 || plan.gid_map[0].inside != 0) return false;
  uid = static_cast<uid_t>(plan.uid_map[0].outside);
  gid = static_cast<gid_t>(plan.gid_map[0].outside);
  return uid != 0;
}

}  // namespace

void act_as_namespace_owner(const Plan& plan) {
  uid_t uid = 0;
  gid_t gid = 0;
  if (!namespace_owner(plan, uid, gid)) return;
  // The gid first: once the uid is not 0 any more, changing the gid needs CAP_SETGID, which
  // the effective set no longer holds.
  if (::setresgid(static_cast<gid_t>(-1), gid, static_cast<gid_t>(-1)) != 0)
    fail_errno("set the effective gid to the sandbox's root gid");
  if (::setresuid(static_cast<uid_t>(-1), uid, static_cast<uid_t>(-1)) != 0)
    fail_errno("set the effective uid to the sandbox's root uid");
}

void resume_host_root(const Plan& plan) {
  if (::geteuid() == 0 || plan.uid_map.empty()) return;
  if (::getuid() != 0) return;  // rootless: nothing was changed
  if (::setresuid(static_cast<uid_t>(-1), 0, static_cast<uid_t>(-1)) != 0) fail_errno("take back the uid 0");
  if (::setresgid(static_cast<gid_t>(-1), 0, static_cast<gid_t>(-1)) != 0) fail_errno("take back the gid 0");
}

void become_namespace_root(const Plan& plan) {
  if (!plan.deny_setgroups && ::setgroups(0, nullptr) != 0) fail_errno("setgroups(0)");
  if (::setresgid(0, 0, 0) != 0) fail_errno("setresgid(0) in the sandbox user namespace");
  if (::setresuid(0, 0, 0) != 0) fail_errno("setresuid(0) in the sandbox user namespace");
}

}  // namespace hutch::subcontainer::helper
