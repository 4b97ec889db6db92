#include "user_lookup.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <optional>

namespace hutch::agent {
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

// Account files bigger than this are refused: a process in the sandbox may make them huge.
constexpr off_t kAccountFileLimit = 16 << 20;

// The whole of an account file of the sandbox (/etc/passwd, /etc/group); nullopt when it is
// missing. Opened without blocking, and read only when it is a regular file of sane size: a
// process in the sandbox may replace it with a FIFO (whose open or read would block the
// shepherd for good) or a huge file. `problem` then says why the file that exists is not used,
// and it counts as missing.
std::optional<std::string> read_account_file(const char* path, std::string& problem) {
  int fd = ::open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
  if (fd < 0) return std::nullopt;
  struct stat info{};
  std::optional<std::string> text;
  if (::fstat(fd, &info) != 0 || !S_ISREG(info.st_mode)) {
    problem = std::string("the sandbox's ") + path + " is not a regular file";
  } else if (info.st_size > kAccountFileLimit) {
    problem = std::string("the sandbox's ") + path + " is larger than 16 MiB";
  } else {
    text.emplace();
    char buffer[8192];
    ssize_t n;
    // Up to the limit, also when the file grows meanwhile: a writer that never stops must not
    // keep this loop going.
    while (text->size() < static_cast<std::size_t>(kAccountFileLimit) &&
           ((n = ::read(fd, buffer, sizeof buffer)) > 0 || (n < 0 && errno == EINTR)))
      if (n > 0) text->append(buffer, static_cast<std::size_t>(n));
  }
  ::close(fd);
  return text;
}

template <class F>
void for_each_line(const std::string& text, F&& on_line) {
  std::size_t start = 0;
  while (start < text.size()) {
    std::size_t end = text.find('\n', start);
    if (end == std::string::npos) end = text.size();
    on_line(text.substr(start, end - start));
    start = end + 1;
  }
}

struct PasswdEntry {
  std::string name;
  uid_t uid;
  gid_t gid;
  std::string home;
};

// Finds by name, or by uid when `name` is empty.
std::optional<PasswdEntry> find_passwd(const std::string& passwd, const std::string& name, uid_t uid) {
  std::optional<PasswdEntry> found;
  for_each_line(passwd, [&](const std::string& line) {
    if (found) return;
    auto f = split(line, ':');
    if (f.size() < 7) return;
    auto entry_uid = number(f[2]);
    auto entry_gid = number(f[3]);
    if (!entry_uid || !entry_gid) return;
    if (name.empty() ? *entry_uid == uid : f[0] == name)
      found = PasswdEntry{f[0], static_cast<uid_t>(*entry_uid), static_cast<gid_t>(*entry_gid), f[5]};
  });
  return found;
}

std::optional<gid_t> find_group(const std::string& group, const std::string& name) {
  std::optional<gid_t> found;
  for_each_line(group, [&](const std::string& line) {
    if (found) return;
    auto f = split(line, ':');
    if (f.size() >= 3 && f[0] == name)
      if (auto gid = number(f[2])) found = static_cast<gid_t>(*gid);
  });
  return found;
}

std::vector<gid_t> supplementary_groups(const std::string& group, const std::string& user_name) {
  std::vector<gid_t> groups;
  for_each_line(group, [&](const std::string& line) {
    auto f = split(line, ':');
    if (f.size() < 4) return;
    auto gid = number(f[2]);
    if (!gid) return;
    for (const auto& member : split(f[3], ','))
      if (member == user_name) groups.push_back(static_cast<gid_t>(*gid));
  });
  return groups;
}

}  // namespace

bool lookup_user(const std::string& spec, ExecUser& user, std::string& error) {
  if (spec.empty()) return true;  // root
  auto colon = spec.find(':');
  std::string user_part = spec.substr(0, colon);
  std::optional<std::string> group_part;
  if (colon != std::string::npos) group_part = spec.substr(colon + 1);

  // A file that cannot be used counts as missing, so that root (and numeric ids) still work
  // in a sandbox whose user broke it; a name it would have held is then an error saying why.
  std::string problem;
  const std::string passwd = read_account_file("/etc/passwd", problem).value_or("");
  std::optional<PasswdEntry> entry;
  if (auto uid = number(user_part)) {
    user.uid = static_cast<uid_t>(*uid);
    entry = find_passwd(passwd, "", user.uid);
  } else {
    entry = find_passwd(passwd, user_part, 0);
    // Minimal images have no /etc/passwd; "root" still means uid 0 there.
    if (!entry && user_part == "root") entry = PasswdEntry{"root", 0, 0, "/root"};
    if (!entry) {
      error = "unknown user '" + user_part + "' (" + (problem.empty() ? "not in the sandbox's /etc/passwd" : problem) + ")";
      return false;
    }
    user.uid = entry->uid;
  }
  std::string group;
  problem.clear();
  if (entry || group_part) group = read_account_file("/etc/group", problem).value_or("");
  if (entry) {
    user.gid = entry->gid;
    user.home = entry->home.empty() ? "/" : entry->home;
    user.groups = supplementary_groups(group, entry->name);
  }
  if (group_part) {
    if (auto gid = number(*group_part)) {
      user.gid = static_cast<gid_t>(*gid);
    } else if (auto named = find_group(group, *group_part)) {
      user.gid = *named;
    } else {
      error = "unknown group '" + *group_part + "' (" + (problem.empty() ? "not in the sandbox's /etc/group" : problem) + ")";
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

}  // namespace hutch::agent
