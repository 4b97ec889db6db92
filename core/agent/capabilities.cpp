#include "capabilities.hpp"

#include <linux/capability.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>

namespace hutch::agent {
namespace {

bool kept(const std::vector<int>& keep, int cap) {
  return std::find(keep.begin(), keep.end(), cap) != keep.end();
}

int last_cap() {
  int last = CAP_LAST_CAP;
  // The running kernel may know more capabilities than our headers.
  while (::prctl(PR_CAPBSET_READ, last + 1, 0, 0, 0) >= 0) ++last;
  return last;
}

}  // namespace

int drop_bounding_set(const std::vector<int>& keep) {
  int last = last_cap();
  for (int cap = 0; cap <= last; ++cap) {
    if (kept(keep, cap)) continue;
    if (::prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) != 0 && errno != EINVAL) return -1;
  }
  return 0;
}

int limit_capabilities(const std::vector<int>& keep) {
  if (::prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) != 0 && errno != EINVAL) return -1;
  __user_cap_header_struct header{};
  header.version = _LINUX_CAPABILITY_VERSION_3;
  __user_cap_data_struct data[2]{};
  if (::syscall(SYS_capget, &header, data) != 0) return -1;
  for (int word = 0; word < 2; ++word) {
    unsigned int mask = 0;
    for (int bit = 0; bit < 32; ++bit)
      if (kept(keep, word * 32 + bit)) mask |= 1u << bit;
    data[word].effective &= mask;
    data[word].permitted &= mask;
    data[word].inheritable &= mask;
  }
  return static_cast<int>(::syscall(SYS_capset, &header, data));
}

}  // namespace hutch::agent
