// Filesystems whose files are the kernel's own state, not data: writing
// /proc/irq/default_smp_affinity or a cgroup file changes the whole host, reading
// /proc/kallsyms or /sys tells its secrets. Their entries are global however a sandbox mounts
// them, so host-side file operations never open a file or directory on one (issue 12).
//
// devtmpfs is not on the list: it reports tmpfs's type. Its entries are device nodes, which
// host-side file operations refuse as non-regular files, and its regular files belong to host
// root, which the sandbox's credentials cannot open.
#pragma once

namespace hutch::subcontainer {

// The name of the kernel interface filesystem with statfs type `type` ("proc", "sysfs",
// "cgroup2", ...), or nullptr for a filesystem of ordinary files.
const char* kernel_filesystem_name(unsigned long type) noexcept;

// The same for the filesystem `fd` is on. Returns nullptr and sets `error` (an errno value) when
// fstatfs fails; `error` is 0 otherwise.
const char* kernel_filesystem_of(int fd, int& error) noexcept;

}  // namespace hutch::subcontainer
