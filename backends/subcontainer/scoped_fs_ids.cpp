#include "scoped_fs_ids.hpp"

#include <hutch/error.hpp>

#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>

namespace hutch::subcontainer {
namespace {

using ThreadCaps = ScopedFsIds::ThreadCaps;

bool get_thread_caps(ThreadCaps& caps) {
  __user_cap_header_struct header{_LINUX_CAPABILITY_VERSION_3, 0};
  return ::syscall(SYS_capget, &header, caps.data) == 0;
}

bool set_thread_caps(const ThreadCaps& caps) {
  __user_cap_header_struct header{_LINUX_CAPABILITY_VERSION_3, 0};
  return ::syscall(SYS_capset, &header, caps.data) == 0;
}

// What the kernel clears from the effective set when the fsuid leaves 0 (CAP_FS_MASK in
// include/linux/capability.h); bit N of the mask is capability N, split over data[0..1].
constexpr std::uint64_t kFsCapabilities =
    (1ull << CAP_CHOWN) | (1ull << CAP_DAC_OVERRIDE) | (1ull << CAP_DAC_READ_SEARCH) |
    (1ull << CAP_FOWNER) | (1ull << CAP_FSETID) | (1ull << CAP_LINUX_IMMUTABLE) | (1ull << CAP_MAC_OVERRIDE);

// setfsuid/setfsgid report the previous id and never fail visibly; -1 changes nothing.
uid_t thread_fsuid() { return static_cast<uid_t>(::syscall(SYS_setfsuid, -1)); }
gid_t thread_fsgid() { return static_cast<gid_t>(::syscall(SYS_setfsgid, -1)); }

[[noreturn]] void die_with_wrong_credentials(const char* what) {
  // A thread of a host process left with a sandbox's fs ids would create host files as that
  // user; nothing sane can continue.
  std::fprintf(stderr, "hutch: sandbox fs: cannot restore the thread's %s: %s\n", what, std::strerror(errno));
  std::abort();
}

[[noreturn]] void fail(const std::string& what, const std::string& path, int err) {
  throw Error(Errc::permission_denied, "sandbox fs: cannot " + what + " '" + path + "': " + std::strerror(err));
}

}  // namespace

ScopedFsIds::ScopedFsIds(uid_t uid, gid_t gid, const std::string& path) {
  if (thread_fsuid() == uid && thread_fsgid() == gid) return;  // rootless, or nested
  if (!get_thread_caps(saved_caps_)) fail("read the thread's capabilities for", path, errno);
  old_uid_ = static_cast<uid_t>(::syscall(SYS_setfsuid, uid));
  old_gid_ = static_cast<gid_t>(::syscall(SYS_setfsgid, gid));
  active_ = true;
  if (thread_fsuid() != uid || thread_fsgid() != gid) {
    restore();
    throw Error(Errc::permission_denied,
                "sandbox fs: cannot act as host uid " + std::to_string(uid) + " / gid " +
                    std::to_string(gid) + " (the sandbox's root) to change '" + path +
                    "': this process lacks CAP_SETUID/CAP_SETGID");
  }
  ThreadCaps raised = saved_caps_;
  for (int word = 0; word < _LINUX_CAPABILITY_U32S_3; ++word)
    raised.data[word].effective |=
        raised.data[word].permitted & static_cast<std::uint32_t>(kFsCapabilities >> (32 * word));
  if (!set_thread_caps(raised)) {
    const int err = errno;
    restore();
    fail("raise the filesystem capabilities for", path, err);
  }
}

ScopedFsIds::~ScopedFsIds() {
  if (active_) restore();
}

void ScopedFsIds::restore() noexcept {
  active_ = false;
  ::syscall(SYS_setfsuid, old_uid_);
  ::syscall(SYS_setfsgid, old_gid_);
  if (thread_fsuid() != old_uid_) die_with_wrong_credentials("fsuid");
  if (thread_fsgid() != old_gid_) die_with_wrong_credentials("fsgid");
  // Going back to fsuid 0 re-raises the fs capabilities only up to the permitted set;
  // this puts back exactly the effective set the thread had.
  if (!set_thread_caps(saved_caps_)) die_with_wrong_credentials("capabilities");
}

}  // namespace hutch::subcontainer
