// Copying between the host's filesystem and a sandbox's Fs (`hutch cp`), files streamed in
// chunks, directories recursively. Like `cp -r`: when the destination is an existing
// directory, the source is copied into it under its own name. Into a sandbox, symlinks are
// copied as symlinks (the sandbox resolves them inside its root). Out of a sandbox, the tree
// comes through one Fs::read_tree (docker: one archive), runs of zeros in a file become holes on
// the host (sparse_file.hpp), and no link that could lead a host program out of the copied tree
// is made (sandbox_links.hpp): such a link is copied as what it points to inside the sandbox,
// or skipped with a warning on stderr when that does not exist.
#pragma once

#include <hutch/fs.hpp>

#include <filesystem>
#include <string>

namespace hutch::cli {

void copy_host_to_sandbox(const std::filesystem::path& host_source, Fs& sandbox,
                          const std::string& sandbox_destination);

// With `follow_links` (cp -L), every link is copied as what it points to, the in-tree ones too.
// A file the sandbox refuses to read leaves nothing at its destination.
void copy_sandbox_to_host(Fs& sandbox, const std::string& sandbox_source,
                          const std::filesystem::path& host_destination, bool follow_links = false);

}  // namespace hutch::cli
