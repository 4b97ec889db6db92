#include "user_lookup.hpp"

#include <sys/stat.h>

#include <cstdlib>
#include <fstream>
#include <optional>

namespace sbx::agent {
namespace {

std::vector<std::string> split(const std::string& line, char sep) {
  std::vector<std::string> fields;
  std::size_t start = 0;
  while (true) {
    auto end = line.find(sep, start);
    fields.push_back(line.substr(start, end == std::string::npos ? std::string::npos : end - start));
    if (end == std::string::npos) return fields;
    start = end + 1;
  }
}

std::optional<unsigned long> number(const std::string& text) {
  if (text.empty() || text.find_first_not_of("0123456789") != std::string::npos) return std::nullopt;
  return std::strtoul(text.c_str(), nullptr, 10);
}

struct PasswdEntry {
  std::string name;
  uid_t uid;
  gid_t gid;
  std::string home;
};

// Finds by name, or by uid when `name` is empty.
std::optional<PasswdEntry> find_passwd(const std::string& name, uid_t uid) {
  std::ifstream in("/etc/passwd");
  std::string line;
  while (std::getline(in, line)) {
    auto f = split(line, ':');
    if (f.size() < 7) continue;
    auto entry_uid = number(f[2]);
    auto entry_gid = number(f[3]);
    if (!entry_uid || !entry_gid) continue;
    if (name.empty() ? *entry_uid == uid : f[0] == name)
      return PasswdEntry{f[0], static_cast<uid_t>(*entry_uid), static_cast<gid_t>(*entry_gid), f[5]};
  }
  return std::nullopt;
}

std::optional<gid_t> find_group(const std::string& name) {
  std::ifstream in("/etc/group");
  std::string line;
  while (std::getline(in, line)) {
    auto f = split(line, ':');
    if (f.size() >= 3 && f[0] == name)
      if (auto gid = number(f[2])) return static_cast<gid_t>(*gid);
  }
  return std::nullopt;
}

std::vector<gid_t> supplementary_groups(const std::string& user_name) {
  std::vector<gid_t> groups;
  std::ifstream in("/etc/group");
  std::string line;
  while (std::getline(in, line)) {
    auto f = split(line, ':');
    if (f.size() < 4) continue;
    auto gid = number(f[2]);
    if (!gid) continue;
    for (const auto& member : split(f[3], ','))
      if (member == user_name) groups.push_back(static_cast<gid_t>(*gid));
  }
  return groups;
}

}  // namespace

bool lookup_user(const std::string& spec, ExecUser& user, std::string& error) {
  if (spec.empty()) return true;  // root
  auto colon = spec.find(':');
  std::string user_part = spec.substr(0, colon);
  std::optional<std::string> group_part;
  if (colon != std::string::npos) group_part = spec.substr(colon + 1);

  std::optional<PasswdEntry> entry;
  if (auto uid = number(user_part)) {
    user.uid = static_cast<uid_t>(*uid);
    entry = find_passwd("", user.uid);
  } else {
    entry = find_passwd(user_part, 0);
    // Minimal images have no /etc/passwd; "root" still means uid 0 there.
    if (!entry && user_part == "root") entry = PasswdEntry{"root", 0, 0, "/root"};
    if (!entry) {
      error = "unknown user '" + user_part + "' (not in the sandbox's /etc/passwd)";
      return false;
    }
    user.uid = entry->uid;
  }
  if (entry) {
    user.gid = entry->gid;
    user.home = entry->home.empty() ? "/" : entry->home;
    user.groups = supplementary_groups(entry->name);
  }
  if (group_part) {
    if (auto gid = number(*group_part)) {
      user.gid = static_cast<gid_t>(*gid);
    } else if (auto named = find_group(*group_part)) {
      user.gid = *named;
    } else {
      error = "unknown group '" + *group_part + "' (not in the sandbox's /etc/group)";
      return false;
    }
  }
  return true;
}

PreparedUser::Stamp PreparedUser::stamp(const char* path) {
  Stamp result;
  struct stat info{};
  if (::stat(path, &info) != 0) return result;
  result.exists = true;
  result.dev = info.st_dev;
  result.ino = info.st_ino;
  result.size = info.st_size;
  result.mtime_sec = info.st_mtim.tv_sec;
  result.mtime_nsec = info.st_mtim.tv_nsec;
  result.ctime_sec = info.st_ctim.tv_sec;
  result.ctime_nsec = info.st_ctim.tv_nsec;
  return result;
}

void PreparedUser::prepare(const std::string& spec) {
  // Stamped before the lookup: a change while it reads makes the stamps differ at use.
  passwd_ = stamp("/etc/passwd");
  group_ = stamp("/etc/group");
  spec_ = spec;
  user_ = ExecUser{};
  error_.clear();
  ok_ = lookup_user(spec, user_, error_);
  prepared_ = true;
}

void PreparedUser::refresh() {
  if (prepared_ && (stamp("/etc/passwd") != passwd_ || stamp("/etc/group") != group_)) prepare(spec_);
}

bool PreparedUser::get(const std::string& spec, ExecUser& user, std::string& error) const {
  if (prepared_ && spec == spec_ && stamp("/etc/passwd") == passwd_ && stamp("/etc/group") == group_) {
    user = user_;
    error = error_;
    return ok_;
  }
  return lookup_user(spec, user, error);
}

}  // namespace sbx::agent
