#include "plan.hpp"

#include "../plan_format.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>

namespace hutch::subcontainer::helper {
namespace {

std::vector<std::string> split_tabs(const std::string& line) {
  std::vector<std::string> fields;
  std::size_t start = 0;
  while (true) {
    auto tab = line.find('\t', start);
    fields.push_back(line.substr(start, tab == std::string::npos ? std::string::npos : tab - start));
    if (tab == std::string::npos) break;
    start = tab + 1;
  }
  return fields;
}

bool parse_id_map(const std::vector<std::string>& f, std::vector<IdMapLine>& out) {
  if (f.size() != 4) return false;
  out.push_back({std::strtoul(f[1].c_str(), nullptr, 10), std::strtoul(f[2].c_str(), nullptr, 10),
                 std::strtoul(f[3].c_str(), nullptr, 10)});
  return true;
}

bool apply_line(const std::vector<std::string>& f, Plan& plan) {
  namespace k = plan_key;
  const std::string& key = f[0];
  auto one = [&](std::string& out) {
    if (f.size() != 2) return false;
    out = f[1];
    return true;
  };
  auto flag = [&](bool& out) {
    if (f.size() != 2) return false;
    out = f[1] == "1";
    return true;
  };
  if (key == k::kId) return one(plan.id);
  if (key == k::kHostname) return one(plan.hostname);
  if (key == k::kUser) return one(plan.default_user);
  if (key == k::kUidMap) return parse_id_map(f, plan.uid_map);
  if (key == k::kGidMap) return parse_id_map(f, plan.gid_map);
  if (key == k::kSetgroups) {
    if (f.size() != 2) return false;
    plan.deny_setgroups = f[1] == "deny";
    return true;
  }
  if (key == k::kNetwork) {
    if (f.size() != 2) return false;
    plan.new_network = f[1] != "host";
    return true;
  }
  if (key == k::kNameserver) return one(plan.nameserver);
  if (key == k::kRoot) return one(plan.root);
  if (key == k::kUpper) return one(plan.upper);
  if (key == k::kWork) return one(plan.work);
  if (key == k::kLower) {
    if (f.size() != 2 && f.size() != 6) return false;
    LowerStep lower{f[1]};
    if (f.size() == 6) {
      lower.mount_point = f[2];
      lower.idmap = {std::strtoul(f[3].c_str(), nullptr, 10), std::strtoul(f[4].c_str(), nullptr, 10),
                     std::strtoul(f[5].c_str(), nullptr, 10)};
    }
    plan.lower.push_back(std::move(lower));
    return true;
  }
  if (key == k::kReadOnlyRoot) return flag(plan.read_only_root);
  if (key == k::kBind) {
    if (f.size() != 5 && f.size() != 8) return false;
    BindStep bind{f[1], f[2], f[3] == "1", f[4] == "1"};
    if (f.size() == 8)
      bind.idmap = {std::strtoul(f[5].c_str(), nullptr, 10), std::strtoul(f[6].c_str(), nullptr, 10),
                    std::strtoul(f[7].c_str(), nullptr, 10)};
    plan.binds.push_back(std::move(bind));
    return true;
  }
  if (key == k::kTmpfs) {
    if (f.size() != 4) return false;
    plan.tmpfs.push_back({f[1], std::strtoull(f[2].c_str(), nullptr, 10), f[3] == "1"});
    return true;
  }
  if (key == k::kSocket) return one(plan.socket_path);
  if (key == k::kCgroup) {
    if (f.size() != 2) return false;
    plan.cgroups.push_back(f[1]);
    return true;
  }
  if (key == k::kKeepCap) {
    if (f.size() != 2) return false;
    plan.keep_caps.push_back(std::atoi(f[1].c_str()));
    return true;
  }
  if (key == k::kSeccomp) return flag(plan.seccomp);
  if (key == k::kMaxFileBytes) {
    if (f.size() != 2) return false;
    plan.max_file_bytes = std::strtoull(f[1].c_str(), nullptr, 10);
    return plan.max_file_bytes != 0;
  }
  if (key == k::kLifetime) {
    if (f.size() != 3) return false;
    plan.ttl_deadline_ms = std::strtoll(f[1].c_str(), nullptr, 10);
    plan.idle_timeout_ms = std::strtoll(f[2].c_str(), nullptr, 10);
    return true;
  }
  if (key == k::kExpiryFile) return one(plan.expiry_file);
  if (key == k::kStopGrace) {
    if (f.size() != 2) return false;
    plan.stop_grace_ms = static_cast<std::uint32_t>(std::strtoul(f[1].c_str(), nullptr, 10));
    return true;
  }
  return false;
}

}  // namespace

bool read_plan(const char* path, Plan& plan, std::string& error) {
  // Plain reads, not an ifstream: its locale and buffers cost this short-lived process more
  // page faults than the plan has lines.
  std::string text;
  int fd = ::open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    error = std::string("cannot open plan ") + path + ": " + std::strerror(errno);
    return false;
  }
  char buffer[8192];
  ssize_t n;
  while ((n = ::read(fd, buffer, sizeof buffer)) > 0 || (n < 0 && errno == EINTR))
    if (n > 0) text.append(buffer, static_cast<std::size_t>(n));
  int read_error = errno;
  ::close(fd);
  if (n < 0) {
    error = std::string("cannot read plan ") + path + ": " + std::strerror(read_error);
    return false;
  }
  int number = 0;
  std::size_t start = 0;
  while (start < text.size()) {
    std::size_t end = text.find('\n', start);
    if (end == std::string::npos) end = text.size();
    std::string line = text.substr(start, end - start);
    start = end + 1;
    ++number;
    if (line.empty()) continue;
    if (!apply_line(split_tabs(line), plan)) {
      error = std::string(path) + ":" + std::to_string(number) + ": malformed plan line";
      return false;
    }
  }
  if (plan.root.empty() || plan.upper.empty() || plan.work.empty() || plan.lower.empty() ||
      plan.socket_path.empty() || plan.uid_map.empty() || plan.gid_map.empty()) {
    error = std::string(path) + ": plan lacks root/upper/work/lower/socket/uid_map/gid_map";
    return false;
  }
  return true;
}

}  // namespace hutch::subcontainer::helper
