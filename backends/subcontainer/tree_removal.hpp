// Removes a sandbox's directory tree. Rootless sandboxes leave directories that root inside
// made unwritable (mode 0, as overlay's work dir is); those are made writable first.
#pragma once

#include <filesystem>

namespace hutch::subcontainer {

// Errc::io naming the path that could not be removed. A missing tree is not an error.
void remove_tree(const std::filesystem::path& path);

}  // namespace hutch::subcontainer
