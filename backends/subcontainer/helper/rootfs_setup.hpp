// The sandbox's mount tree, built inside its new mount namespace before pivot_root. Every
// target inside the root is resolved with openat2(RESOLVE_IN_ROOT), so an image's symlinks
// cannot point a mount somewhere outside the sandbox root.
#pragma once

#include "plan.hpp"

#include <string>

namespace hutch::subcontainer::helper {

// Stops mount events propagating back to the host.
void make_mounts_private();
// Attaches the lower layers the helper parent prepared on their mount points (plan.hpp).
void attach_lower_layers(const Plan& plan);
// Mounts the overlay (image layers + upper/work) on plan.root; returns an O_PATH fd of it.
int mount_root_overlay(const Plan& plan);
// Creates the mount points the sandbox needs (/proc, /dev, /tmp, every bind and tmpfs
// target) while the root is still writable.
void create_mount_points(int root_fd, const Plan& plan);
// The image's and the spec's binds and tmpfs mounts; read-only ones recursively read-only.
void mount_binds(int root_fd, const Plan& plan);
void mount_proc(int root_fd);
void mount_minimal_dev(int root_fd);
void mount_tmp(int root_fd);
// On the host's network the sandbox resolves names as the host does: the host's
// /etc/resolv.conf and /etc/hosts are copied over the image's (a copy, so the sandbox may
// change its own; an image's is often empty). While the root is writable.
void copy_host_network_files(int root_fd);
// Writes `content` to `path` inside the root (its directory made if missing), replacing the
// image's file: a bridge sandbox's /etc/resolv.conf names its resolver. While the root is
// writable; a file of the upper layer, so the sandbox may change it (DNS to any other server
// is blocked anyway).
void write_root_file(int root_fd, const char* path, const std::string& content);
// Makes the root mount itself read-only (its submounts, e.g. /tmp, keep their own flags).
void make_root_read_only(int root_fd);
// pivot_root into the new root and detach the old one; never chroot.
void pivot_into(int root_fd);

}  // namespace hutch::subcontainer::helper
