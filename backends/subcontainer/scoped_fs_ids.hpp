// Makes the calling thread act on files as the host ids that are root inside a sandbox,
// until the guard ends. Needed when the host is root: the sandbox's overlay and tmpfs belong
// to the sandbox's user namespace, where host uid 0 has no mapping, so creating anything
// there with fsuid 0 fails with EOVERFLOW. Only this thread changes (raw syscalls; glibc's
// set*id wrappers would change every thread of the host). The filesystem capabilities the
// kernel drops on that switch come back from the permitted set, so files of other sandbox
// users stay writable, as they are for root inside.
#pragma once

#include <linux/capability.h>
#include <sys/types.h>

#include <string>

namespace hutch::subcontainer {

class ScopedFsIds {
 public:
  // Nothing changes when the thread already acts as uid/gid (rootless, or nested). `path`
  // names the file the switch is for, in error messages: Errc::permission_denied when this
  // process may not switch (no CAP_SETUID/CAP_SETGID).
  ScopedFsIds(uid_t uid, gid_t gid, const std::string& path);
  ScopedFsIds(const ScopedFsIds&) = delete;
  ScopedFsIds& operator=(const ScopedFsIds&) = delete;
  // Puts back exactly the ids and effective capabilities the thread had; aborts the process
  // if the kernel refuses (a host thread left with a sandbox's ids must not go on).
  ~ScopedFsIds();

  // The capability sets of the calling thread, through the raw syscalls: glibc has no
  // wrapper, and libcap's cap_set_proc may apply to every thread when the program links libpsx.
  struct ThreadCaps {
    __user_cap_data_struct data[_LINUX_CAPABILITY_U32S_3]{};
  };

 private:
  void restore() noexcept;

  ThreadCaps saved_caps_;
  uid_t old_uid_ = 0;
  gid_t old_gid_ = 0;
  bool active_ = false;
};

}  // namespace hutch::subcontainer
