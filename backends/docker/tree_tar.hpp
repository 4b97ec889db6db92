// A host directory written as a tar stream: how `hutch image import DIR` hands a rootfs
// directory to the Engine, which imports only archives.
#pragma once

#include <hutch/archive.hpp>

#include <filesystem>

namespace hutch::docker {

// Adds everything under `dir` to `tar` with paths relative to it ("./etc/passwd"):
// directories, regular files (streamed), symlinks (as links, never followed) and hard links
// within the tree, each with its mode, owner and mtime. Devices, fifos and sockets are skipped
// (a container gets its /dev at run time). Errc::io naming the file that cannot be read.
void write_tree(ArchiveWriter& tar, const std::filesystem::path& dir);

}  // namespace hutch::docker
