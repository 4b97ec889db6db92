// A small host-side file of a sandbox (in its host-only directory) replaced whole: written
// to <file>.tmp, then renamed over it, so a reader sees the old content or the new.
#pragma once

#include <filesystem>
#include <string>
#include <string_view>

namespace hutch::agent {

// Mode 0600, the final component never followed. Errc::io (naming the sandbox and the file)
// when it cannot be written.
void replace_host_file(const std::filesystem::path& file, std::string_view content, const std::string& sandbox_id);

}  // namespace hutch::agent
