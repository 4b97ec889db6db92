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

void become_namespace_root(const Plan& plan) {
  if (!plan.deny_setgroups && ::setgroups(0, nullptr) != 0) fail_errno("setgroups(0)");
  if (::setresgid(0, 0, 0) != 0) fail_errno("setresgid(0) in the sandbox user namespace");
  if (::setresuid(0, 0, 0) != 0) fail_errno("setresuid(0) in the sandbox user namespace");
}

}  // namespace hutch::subcontainer::helper
