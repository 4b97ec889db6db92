// hutch's entry in /etc/subuid and /etc/subgid; see subordinate_ids.hpp.
#include "subordinate_ids.hpp"

#include "egress_names.hpp"
#include "atomic_file.hpp"
#include "image_import.hpp"
#include "unique_fd.hpp"

#include <hutch/error.hpp>

#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <chrono>
#include <cstring>
#include <optional>
#include <thread>
#include <vector>

namespace hutch::subcontainer {
namespace fs = std::filesystem;
namespace {

struct Entry {
  std::string name;
  std::uint64_t first = 0, count = 0;
};

std::optional<std::uint64_t> number(std::string_view text) {
  std::uint64_t value = 0;
  auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (error != std::errc() || end != text.data() + text.size() || text.empty()) return std::nullopt;
  return value;
}

// "name:first:count", or nullopt for anything else (kept verbatim, never matched).
std::optional<Entry> parse_entry(std::string_view line) {
  const auto first_colon = line.find(':');
  if (first_colon == std::string_view::npos) return std::nullopt;
  const auto second_colon = line.find(':', first_colon + 1);
  if (second_colon == std::string_view::npos) return std::nullopt;
  auto first = number(line.substr(first_colon + 1, second_colon - first_colon - 1));
  auto count = number(line.substr(second_colon + 1));
  if (!first || !count || first_colon == 0) return std::nullopt;
  return Entry{std::string(line.substr(0, first_colon)), *first, *count};
}

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> lines;
  std::size_t start = 0;
  while (start < text.size()) {
    std::size_t end = text.find('\n', start);
    if (end == std::string::npos) end = text.size();
    lines.push_back(text.substr(start, end - start));
    start = end + 1;
  }
  return lines;
}

// What the file says now: nullopt when the entry is there already; else the lines, after
// refusing an overlap.
std::optional<std::vector<std::string>> lines_needing_entry(const fs::path& file, const std::string& name,
                                                            std::uint64_t first, std::uint64_t count,
                                                            const std::string& what) {
  const std::optional<std::string> text = read_small_file(file);
  std::vector<std::string> lines = text ? lines_of(*text) : std::vector<std::string>{};
  bool present = false;
  for (std::size_t i = 0; i < lines.size(); ++i) {
    const auto entry = parse_entry(lines[i]);
    if (!entry) continue;
    if (entry->name == name) {
      present = present || (entry->first == first && entry->count == count);
      continue;  // hutch's own entries (another configuration's block) are no conflict
    }
    const bool overlaps = entry->first < first + count && first < entry->first + entry->count;
    if (overlaps)
      throw Error(Errc::config,
                  what + ": hutch's host id block " + std::to_string(first) + "-" + std::to_string(first + count - 1) +
                      " overlaps " + file.string() + " line " + std::to_string(i + 1) + " '" + lines[i] +
                      "': user '" + entry->name + "' may map those ids into his own user namespaces and "
                      "so become root of a sandbox. Choose a uid_base whose block is free (the default "
                      "1000000000 sits above useradd's ranges), or remove that entry");
  }
  if (present) return std::nullopt;
  return lines;
}

// shadow's lock protocol (lib/commonio.c): <file>.lock made exclusively, holding the pid of
// its owner; a lock whose owner is dead is stale and taken over.
class ShadowLock {
 public:
  explicit ShadowLock(const fs::path& file) : path_(file.string() + ".lock") {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (true) {
      UniqueFd fd(::open(path_.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600));
      if (fd) {
        const std::string pid = std::to_string(::getpid());
        if (::write(fd.get(), pid.data(), pid.size()) != static_cast<ssize_t>(pid.size())) {
          const int err = errno;
          ::unlink(path_.c_str());
          throw Error(Errc::io, "cannot write the lock '" + path_.string() + "': " + std::strerror(err));
        }
        return;
      }
      if (errno != EEXIST)
        throw Error(Errc::io, "cannot create the lock '" + path_.string() + "': " + std::strerror(errno));
      const std::optional<std::string> holder = read_small_file(path_);
      const auto pid = holder ? number(holder->substr(0, holder->find_first_of("\n \0", 0, 3))) : std::nullopt;
      if (pid && *pid > 0 && ::kill(static_cast<pid_t>(*pid), 0) != 0 && errno == ESRCH) {
        ::unlink(path_.c_str());  // its owner is gone
        continue;
      }
      if (std::chrono::steady_clock::now() > deadline)
        throw Error(Errc::io, "'" + path_.string() + "' is held by process " + (holder ? *holder : "?") +
                                  " (useradd, usermod or another hutch); try again, or remove it if that "
                                  "process is gone");
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
  }
  ~ShadowLock() { ::unlink(path_.c_str()); }
  ShadowLock(const ShadowLock&) = delete;
  ShadowLock& operator=(const ShadowLock&) = delete;

 private:
  fs::path path_;
};

}  // namespace

void register_subordinate_ids(const fs::path& file, const std::string& name, std::uint32_t first,
                              std::uint64_t count, const std::string& what) {
  // Checked without the lock first: a process that only reads pays no lock, the common case.
  if (!lines_needing_entry(file, name, first, count, what)) return;
  ShadowLock lock(file);
  const auto lines = lines_needing_entry(file, name, first, count, what);
  if (!lines) return;  // another process registered it meanwhile
  std::string text;
  for (const auto& line : *lines) text += line + "\n";
  text += name + ":" + std::to_string(first) + ":" + std::to_string(count) + "\n";
  struct stat old {};
  std::optional<FileOwner> owner;
  mode_t mode = 0644;
  if (::stat(file.c_str(), &old) == 0) {
    mode = old.st_mode & 07777;
    owner = FileOwner{old.st_uid, old.st_gid};
  }
  write_file_atomic(file, text, mode, owner);
}

}  // namespace hutch::subcontainer
