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

// What a replaced file must outlive. The rename alone keeps the old-or-new promise through a
// crash of the writing process; the fsync before it extends it to a crash of the machine, at
// the price of a disk flush (tens of milliseconds on a busy disk). Files that describe
// kernel objects gone at a reboot (a bridge sandbox's address lease, its resolver policy) need
// only the first.
enum class Durability { machine_crash, process_crash };

// Writes `content` to a temporary file next to `file` (<file>.tmp-<random>, created
// exclusively with `mode`, chowned to `owner` when given), fsyncs it (unless `durability` is
// process_crash) and renames it over `file`. Errc::io naming the file that failed; the
// temporary file is removed then.
void write_file_atomic(const std::filesystem::path& file, const std::string& content, mode_t mode = 0644,
                       const std::optional<FileOwner>& owner = std::nullopt,
                       Durability durability = Durability::machine_crash);

}  // namespace hutch::egress
