#include "sandbox_fs/kernel_filesystems.hpp"

#include <linux/magic.h>
#include <sys/vfs.h>

#include <cerrno>
#include <iterator>

namespace hutch::subcontainer {
namespace {

struct KernelFilesystem {
  unsigned long type;
  const char* name;
};

// Those linux/magic.h leaves out carry their values from the kernel sources.
constexpr KernelFilesystem kKernelFilesystems[] = {
    {PROC_SUPER_MAGIC, "proc"},
    {SYSFS_MAGIC, "sysfs"},
    {DEVPTS_SUPER_MAGIC, "devpts"},
    {DEBUGFS_MAGIC, "debugfs"},
    {TRACEFS_MAGIC, "tracefs"},
    {SECURITYFS_MAGIC, "securityfs"},
    {CGROUP_SUPER_MAGIC, "cgroup"},
    {CGROUP2_SUPER_MAGIC, "cgroup2"},
    {BPF_FS_MAGIC, "bpf"},
    {0x62656570UL, "configfs"},
    {PSTOREFS_MAGIC, "pstore"},
    {EFIVARFS_MAGIC, "efivarfs"},
    {0x65735543UL, "fusectl"},
    {SELINUX_MAGIC, "selinuxfs"},
    {SMACK_MAGIC, "smackfs"},
    {BINFMTFS_MAGIC, "binfmt_misc"},
    {NSFS_MAGIC, "nsfs"},
    {RDTGROUP_SUPER_MAGIC, "resctrl"},
    {BINDERFS_SUPER_MAGIC, "binder"},
    {0x6e667364UL, "nfsd"},
    {0x67596969UL, "rpc_pipefs"},
};

}  // namespace

const char* kernel_filesystem_name(unsigned long type) noexcept {
  for (const auto& filesystem : kKernelFilesystems)
    if (filesystem.type == type) return filesystem.name;
  return nullptr;
}

const char* kernel_filesystem_of(int fd, int& error) noexcept {
  struct statfs info {};
  if (::fstatfs(fd, &info) != 0) {
    error = errno;
    return nullptr;
  }
  error = 0;
  // f_type is a signed word whose magic values may have the top bit set (0xf97cff8c).
  return kernel_filesystem_name(static_cast<unsigned long>(static_cast<unsigned int>(info.f_type)));
}

}  // namespace hutch::subcontainer
