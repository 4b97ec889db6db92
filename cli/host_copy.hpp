// Copying between the host's filesystem and a sandbox's Fs (`hutch cp`), files streamed in
// chunks, directories recursively, symlinks as symlinks. Like `cp -r`: when the destination is
// an existing directory, the source is copied into it under its own name. Out of a sandbox,
// the tree comes through one Fs::read_tree (docker: one archive), and runs of zeros in a file
// become holes on the host (sparse_file.hpp).
#pragma once

#include <hutch/fs.hpp>

#include <filesystem>
#include <string>

namespace hutch::cli {

void copy_host_to_sandbox(const std::filesystem::path& host_source, Fs& sandbox,
                          const std::string& sandbox_destination);

void copy_sandbox_to_host(Fs& sandbox, const std::string& sandbox_source,
                          const std::filesystem::path& host_destination);

}  // namespace hutch::cli
