// A host file written from a stream, with the stream's zero blocks left as holes: what
// `cp --sparse=always` does. Fs::read_stream says nothing of a file's holes, so a sparse file
// copied out of a sandbox (64 MiB, 4 KiB of data) would otherwise take its full size on the
// host's disk.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>

namespace hutch::cli {

class SparseFileWriter {
 public:
  // Creates or truncates `path` (mode 0600 until the caller sets its own), never following a
  // symlink there. Errc::io naming the file when it cannot.
  explicit SparseFileWriter(const std::filesystem::path& path);
  SparseFileWriter(const SparseFileWriter&) = delete;
  SparseFileWriter& operator=(const SparseFileWriter&) = delete;
  // Closes the file; what was written stays (call finish() for the size and the errors).
  ~SparseFileWriter();

  // Appends `data`: blocks of zeros become holes, the rest is written. Errc::io on failure.
  void write(std::string_view data);
  // Gives the file its full size (a trailing run of zeros is a hole too) and closes it.
  void finish();

 private:
  static constexpr std::size_t kBlock = 4096;
  // Writes whole blocks at offset_, skipping those that are all zeros.
  void put_blocks(std::string_view blocks);
  void write_at(std::string_view data, std::uint64_t offset);
  [[noreturn]] void fail(const std::string& what, int error) const;

  std::filesystem::path path_;
  int fd_ = -1;
  std::uint64_t offset_ = 0;  // bytes of the stream placed in the file so far
  std::string partial_;       // the start of a block not complete yet
};

}  // namespace hutch::cli
