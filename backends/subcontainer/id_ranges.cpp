// The registry of sandbox id ranges; see id_ranges.hpp.
#include "id_ranges.hpp"

#include "egress_names.hpp"
#include "file_lock.hpp"

#include "image_import.hpp"
#include "unique_fd.hpp"

#include <hutch/error.hpp>

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstring>
#include <optional>

namespace hutch::subcontainer {
namespace fs = std::filesystem;
namespace {

std::string file_name(const IdRange& range) { return std::to_string(range.first) + "-" + std::to_string(range.count); }

std::optional<IdRange> parse_name(const std::string& name) {
  const auto dash = name.find('-');
  if (dash == std::string::npos) return std::nullopt;
  IdRange range;
  const char* end = name.data() + name.size();
  auto first = std::from_chars(name.data(), name.data() + dash, range.first);
  auto count = std::from_chars(name.data() + dash + 1, end, range.count);
  if (first.ec != std::errc() || first.ptr != name.data() + dash || count.ec != std::errc() || count.ptr != end ||
      range.count == 0)
    return std::nullopt;
  return range;
}

std::string owner_key(const fs::path& owner) { return fs::absolute(owner).lexically_normal().string(); }

bool owner_exists(const fs::path& owner) {
  struct stat st {};
  // The sandbox's entry itself, which is a symlink for an ephemeral sandbox: it stays until
  // the sandbox is destroyed (or pruned, after a reboot emptied its tmpfs).
  return ::lstat(owner.c_str(), &st) == 0 || errno != ENOENT;
}

}  // namespace

struct IdRangeRegistry::Lock {
  explicit Lock(const fs::path& dir) : lock(dir / ".lock") {}
  FileLock lock;
};

IdRangeRegistry::IdRangeRegistry(fs::path dir, std::uint32_t base, std::uint32_t count, std::uint32_t ranges)
    : dir_(std::move(dir)), base_(base), count_(count), ranges_(ranges) {}

void IdRangeRegistry::ensure_dir() const {
  std::error_code error;
  fs::create_directories(dir_, error);
  if (error)
    throw Error(Errc::io, "cannot create the id range registry '" + dir_.string() + "': " + error.message());
  // Only root reads or changes it.
  if (::chmod(dir_.c_str(), 0700) != 0)
    throw Error(Errc::io, "cannot chmod '" + dir_.string() + "': " + std::strerror(errno));
}

std::vector<IdRangeRegistry::Taken> IdRangeRegistry::taken() const {
  std::vector<Taken> out;
  std::error_code error;
  for (fs::directory_iterator it(dir_, error), end; !error && it != end; it.increment(error)) {
    const auto range = parse_name(it->path().filename().string());
    if (!range) continue;
    std::string owner = read_small_file(it->path()).value_or("");
    if (!owner.empty() && owner.back() == '\n') owner.pop_back();
    out.push_back({*range, it->path(), owner});
  }
  if (error) throw Error(Errc::io, "cannot list the id range registry '" + dir_.string() + "': " + error.message());
  return out;
}

IdRange IdRangeRegistry::allocate(const fs::path& owner) {
  ensure_dir();
  Lock lock(dir_);
  const std::string key = owner_key(owner);
  for (int attempt = 0; attempt < 2; ++attempt) {
    // The union of what is taken, as sorted disjoint [begin, end) intervals.
    std::vector<std::pair<std::uint64_t, std::uint64_t>> busy;
    for (const auto& entry : taken()) busy.emplace_back(entry.range.first, std::uint64_t(entry.range.first) + entry.range.count);
    std::sort(busy.begin(), busy.end());
    std::vector<std::pair<std::uint64_t, std::uint64_t>> merged;
    for (const auto& interval : busy) {
      if (!merged.empty() && interval.first <= merged.back().second)
        merged.back().second = std::max(merged.back().second, interval.second);
      else
        merged.push_back(interval);
    }
    std::size_t next = 0;
    for (std::uint64_t index = 1; index <= ranges_; ++index) {
      const std::uint64_t begin = base_ + index * count_, end = begin + count_;
      while (next < merged.size() && merged[next].second <= begin) ++next;
      if (next < merged.size() && merged[next].first < end) continue;
      const IdRange range{static_cast<std::uint32_t>(begin), count_};
      const fs::path file = dir_ / file_name(range);
      UniqueFd fd(::open(file.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600));
      if (!fd) throw Error(Errc::io, "cannot record the id range in '" + file.string() + "': " + std::strerror(errno));
      const std::string text = key + "\n";
      if (::write(fd.get(), text.data(), text.size()) != static_cast<ssize_t>(text.size())) {
        const int err = errno;
        ::unlink(file.c_str());
        throw Error(Errc::io, "cannot write '" + file.string() + "': " + std::strerror(err));
      }
      return range;
    }
    // Full: ranges of sandboxes whose directory went without a release are free again.
    if (attempt == 0) {
      for (const auto& entry : taken())
        if (!owner_exists(entry.owner)) ::unlink(entry.file.c_str());
    }
  }
  throw Error(Errc::state, "all " + std::to_string(ranges_) + " host id ranges of the subcontainer backend are in use "
                           "(see " + dir_.string() + "); destroy sandboxes (hutch prune) or raise "
                           "[backends.subcontainer] uid_ranges");
}

void IdRangeRegistry::release(const IdRange& range, const fs::path& owner) noexcept {
  try {
    Lock lock(dir_);
    const fs::path file = dir_ / file_name(range);
    std::string holder = read_small_file(file).value_or("");
    if (holder == owner_key(owner) + "\n") ::unlink(file.c_str());
  } catch (const std::exception&) {
    // Left for reclaim_stale once the owner directory is gone.
  }
}

void IdRangeRegistry::release_owner(const fs::path& owner) noexcept {
  try {
    if (!fs::exists(dir_)) return;
    Lock lock(dir_);
    const std::string key = owner_key(owner);
    for (const auto& entry : taken())
      if (entry.owner == key) ::unlink(entry.file.c_str());
  } catch (const std::exception&) {
  }
}

std::vector<IdRange> IdRangeRegistry::reclaim_stale() {
  std::vector<IdRange> freed;
  std::error_code error;
  if (!fs::exists(dir_, error)) return freed;
  Lock lock(dir_);
  for (const auto& entry : taken()) {
    if (owner_exists(entry.owner)) continue;
    if (::unlink(entry.file.c_str()) == 0) freed.push_back(entry.range);
  }
  return freed;
}

}  // namespace hutch::subcontainer
