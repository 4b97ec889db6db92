// Tar (and other libarchive formats) reading and writing, as RAII types over libarchive.
// Shared by the subcontainer image import and the docker backend's archive API (which streams
// the Engine's response body through ArchiveReader::from_stream).
//
// Reading accepts every format and compression libarchive knows (tar, pax, gnu, gzip, xz,
// zstd, bzip2, ...). Writing produces a POSIX pax tar, uncompressed.
// Errors: Errc::not_found for a missing file, Errc::io for everything libarchive reports; the
// message names the archive and, when there is one, the entry.
#pragma once

#include <sbx/export.hpp>
#include <sbx/fs.hpp>

#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>

struct archive;
struct archive_entry;

namespace sbx {

class SBX_API ArchiveReader {
 public:
  // Opens a file. `name` in messages is the path.
  explicit ArchiveReader(const std::filesystem::path& file);
  // Reads from memory; `data` must outlive the reader.
  static ArchiveReader from_memory(std::string_view data, std::string name = "archive");
  // Reads the bytes as `source` yields them (an HTTP body, a pipe), so memory stays bounded
  // whatever the archive's size. `source` returns successive chunks, each valid until the
  // next call, and an empty one at the end. An exception it throws becomes Errc::io naming
  // the archive and carrying its message.
  static ArchiveReader from_stream(ChunkSource source, std::string name = "archive");

  ArchiveReader(ArchiveReader&& other) noexcept;
  ArchiveReader& operator=(ArchiveReader&& other) noexcept;
  ArchiveReader(const ArchiveReader&) = delete;
  ArchiveReader& operator=(const ArchiveReader&) = delete;
  ~ArchiveReader();

  // Advances to the next entry and returns it (owned by the reader, valid until the next
  // call); nullptr at the end of the archive.
  archive_entry* next();
  // The current entry, as stored: path (may start with "./" or "/"), type, permission bits,
  // data size, symlink target, hardlink target (empty when not a hardlink).
  std::string entry_path() const;
  FileType entry_type() const;
  std::uint32_t entry_mode() const;
  std::uint64_t entry_size() const;
  std::string entry_symlink() const;
  std::string entry_hardlink() const;
  // entry_path() without leading "./" and "/" and without a trailing "/"; "" for the root.
  std::string entry_relative_path() const;
  // The current entry as Fs::stat reports a file: type, size, mode, uid, gid, mtime (whole
  // seconds), symlink target.
  FileStat entry_stat() const;
  // Streams the current entry's data; stops early when `sink` returns false.
  void read_data(const ChunkSink& sink);
  // Input bytes consumed so far (compressed), for progress reporting.
  std::uint64_t bytes_consumed() const;

  archive* native() const { return archive_; }
  const std::string& name() const { return name_; }

 private:
  ArchiveReader() = default;
  [[noreturn]] void fail(const std::string& what) const;

  archive* archive_ = nullptr;
  archive_entry* entry_ = nullptr;
  std::string name_;
};

struct ArchiveEntryOptions {
  std::uint32_t mode = 0;  // permission bits; 0: 0644 for files, 0755 for directories
  std::uint32_t uid = 0;
  std::uint32_t gid = 0;
  std::int64_t mtime_unix = 0;
};

class SBX_API ArchiveWriter {
 public:
  // Writes the tar to `file` (created or truncated).
  explicit ArchiveWriter(const std::filesystem::path& file);
  // Hands the tar to `sink` in chunks (for an HTTP body, a pipe, ...).
  explicit ArchiveWriter(ChunkSink sink, std::string name = "archive");

  ArchiveWriter(ArchiveWriter&&) = delete;
  ArchiveWriter(const ArchiveWriter&) = delete;
  ArchiveWriter& operator=(const ArchiveWriter&) = delete;
  // Finishes the archive if finish() was not called (errors are then only logged).
  ~ArchiveWriter();

  void add_directory(const std::string& path, ArchiveEntryOptions options = {});
  void add_file(const std::string& path, std::string_view data, ArchiveEntryOptions options = {});
  // Streams `size` bytes from `source` (which must yield exactly that many).
  void add_file_stream(const std::string& path, std::uint64_t size, const ChunkSource& source,
                       ArchiveEntryOptions options = {});
  void add_symlink(const std::string& path, const std::string& target,
                   ArchiveEntryOptions options = {});
  void add_hardlink(const std::string& path, const std::string& target,
                    ArchiveEntryOptions options = {});
  // Writes the trailer and flushes; further adds are errors.
  void finish();

  archive* native() const { return archive_; }

 private:
  void write_header(archive_entry* entry, const std::string& path);
  [[noreturn]] void fail(const std::string& what) const;

  archive* archive_ = nullptr;
  std::string name_;
  ChunkSink sink_;
  bool finished_ = false;
};

}  // namespace sbx
