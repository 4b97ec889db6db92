// Replacing a small file whole, so that a reader (or a crash) sees the old file or the new
// one, never half of one: the image store's indexes, /etc/subuid and /etc/subgid.
#pragma once

#include <sys/types.h>

#include <filesystem>
#include <optional>
#include <string>

namespace hutch::egress {

struct FileOwner {
  uid_t uid = 0;
  gid_t gid = 0;
};

// Writes `content` to a temporary file next to `file` (<file>.tmp-<random>, created
// exclusively with `mode`, chowned to `owner` when given), fsyncs it and renames it over
// `file`. Errc::io naming the file that failed; the temporary file is removed then.
void write_file_atomic(const std::filesystem::path& file, const std::string& content, mode_t mode = 0644,
                       const std::optional<FileOwner>& owner = std::nullopt);

}  // namespace hutch::egress
