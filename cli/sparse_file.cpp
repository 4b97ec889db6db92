#include "sparse_file.hpp"

#include <hutch/error.hpp>

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace hutch::cli {

namespace {

bool all_zero(std::string_view block) {
  return block.empty() || (block.front() == '\0' && std::memcmp(block.data(), block.data() + 1, block.size() - 1) == 0);
}

}  // namespace

SparseFileWriter::SparseFileWriter(const std::filesystem::path& path) : path_(path) {
  fd_ = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0600);
  if (fd_ < 0) fail("cannot create host file", errno);
  partial_.reserve(kBlock);
}

SparseFileWriter::~SparseFileWriter() {
  if (fd_ >= 0) ::close(fd_);
}

void SparseFileWriter::fail(const std::string& what, int error) const {
  throw Error(Errc::io, "cp: " + what + " '" + path_.string() + "': " + std::strerror(error));
}

void SparseFileWriter::write_at(std::string_view data, std::uint64_t offset) {
  while (!data.empty()) {
    const ssize_t written = ::pwrite(fd_, data.data(), data.size(), static_cast<off_t>(offset));
    if (written < 0) {
      if (errno == EINTR) continue;
      fail("writing host file", errno);
    }
    data.remove_prefix(static_cast<std::size_t>(written));
    offset += static_cast<std::uint64_t>(written);
  }
}

void SparseFileWriter::put_blocks(std::string_view blocks) {
  // Runs of data blocks go out in one pwrite each; zero blocks only move the offset.
  std::size_t run_start = 0;
  std::size_t at = 0;
  for (; at < blocks.size(); at += kBlock) {
    if (!all_zero(blocks.substr(at, kBlock))) continue;
    if (at > run_start) write_at(blocks.substr(run_start, at - run_start), offset_ + run_start);
    run_start = at + kBlock;
  }
  if (run_start < blocks.size()) write_at(blocks.substr(run_start), offset_ + run_start);
  offset_ += blocks.size();
}

void SparseFileWriter::write(std::string_view data) {
  if (fd_ < 0) throw Error(Errc::state, "cp: host file '" + path_.string() + "' is already finished");
  // Blocks are aligned to the file's offsets, whatever the sizes of the chunks.
  if (!partial_.empty()) {
    const std::size_t take = std::min(kBlock - partial_.size(), data.size());
    partial_.append(data.substr(0, take));
    data.remove_prefix(take);
    if (partial_.size() < kBlock) return;
    put_blocks(partial_);
    partial_.clear();
  }
  const std::size_t whole = data.size() / kBlock * kBlock;
  put_blocks(data.substr(0, whole));
  partial_.assign(data.substr(whole));
}

void SparseFileWriter::finish() {
  if (fd_ < 0) return;
  if (!all_zero(partial_)) write_at(partial_, offset_);
  offset_ += partial_.size();
  partial_.clear();
  if (::ftruncate(fd_, static_cast<off_t>(offset_)) != 0) fail("cannot set the size of host file", errno);
  const int fd = fd_;
  fd_ = -1;
  if (::close(fd) != 0) fail("writing host file", errno);
}

}  // namespace hutch::cli
