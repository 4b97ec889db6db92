#include "capped_log.hpp"

#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>

namespace hutch::agent {
namespace {

// Copies [0, size) of `from` over `to` (truncated first). In the kernel where it can.
void copy_whole(int from, int to, std::uint64_t size) {
  if (::ftruncate(to, 0) != 0) return;
  loff_t in = 0, out = 0;
  while (static_cast<std::uint64_t>(in) < size) {
    ssize_t n = ::copy_file_range(from, &in, to, &out, size - static_cast<std::uint64_t>(in), 0);
    if (n > 0) continue;
    if (n < 0 && errno == EINTR) continue;
    if (n == 0) return;
    break;  // not supported between these files: copy through a buffer
  }
  char buffer[64 * 1024];
  while (static_cast<std::uint64_t>(in) < size) {
    ssize_t n = ::pread(from, buffer, std::min<std::uint64_t>(sizeof buffer, size - in), in);
    if (n <= 0 || ::pwrite(to, buffer, static_cast<std::size_t>(n), out) != n) return;
    in += n;
    out += n;
  }
}

}  // namespace

CappedLog::CappedLog(UniqueFd log, UniqueFd rotated, std::uint64_t limit)
    : log_(std::move(log)), rotated_(std::move(rotated)), half_limit_(std::max<std::uint64_t>(limit / 2, 1)) {
  struct stat info {};
  if (::fstat(log_.get(), &info) == 0) size_ = static_cast<std::uint64_t>(info.st_size);
  if (size_ >= half_limit_) rotate();
}

void CappedLog::append(const char* data, std::size_t size) {
  while (size > 0) {
    ssize_t n = ::write(log_.get(), data, size);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return;
    data += n;
    size -= static_cast<std::size_t>(n);
    size_ += static_cast<std::uint64_t>(n);
  }
  if (size_ >= half_limit_) rotate();
}

void CappedLog::rotate() {
  copy_whole(log_.get(), rotated_.get(), size_);
  // O_APPEND: the next write goes to the new end, 0.
  if (::ftruncate(log_.get(), 0) == 0) size_ = 0;
}

}  // namespace hutch::agent
