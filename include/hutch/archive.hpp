// Tar reading, writing and extraction, as RAII types over libarchive. Shared by the
// subcontainer image import and the docker backend's archive API (which streams the Engine's
// response body through ArchiveReader::from_stream).
//
// Reading accepts tar in all its dialects (ustar, pax, GNU, v7), plain or compressed with gzip,
// bzip2, xz/lzma or zstd: what rootfs tarballs, `docker save` and OCI archives use. Other
// archive formats (zip, cpio, 7z, ...) are refused as unrecognised. Writing produces a POSIX
// pax tar, uncompressed.
//
// libarchive is linked into libhutch privately (statically where the build finds libarchive.a, so
// that starting a program does not load it and its dependencies): its handles never cross
// this API, and callers need no libarchive of their own.
// Errors: Errc::not_found for a missing file, Errc::io for everything libarchive reports; the
// message names the archive and, when there is one, the entry.
#pragma once

#include <hutch/export.hpp>
#include <hutch/fs.hpp>

#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>

struct archive;
struct archive_entry;

namespace hutch {

class HUTCH_API ArchiveReader {
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
  // The current entry's file type as the S_IF* bits of st_mode (S_IFREG, S_IFDIR, S_IFLNK,
  // S_IFCHR, S_IFBLK, S_IFIFO, S_IFSOCK); 0 without a current entry. Unlike entry_type(), a
  // hardlink entry reports what the archive stored for it.
  std::uint32_t entry_filetype() const;
  // Input bytes consumed so far (compressed), for progress reporting.
  std::uint64_t bytes_consumed() const;

  const std::string& name() const { return name_; }

 private:
  friend class ArchiveExtractor;
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

class HUTCH_API ArchiveWriter {
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

 private:
  void write_header(archive_entry* entry, const std::string& path);
  [[noreturn]] void fail(const std::string& what) const;

  archive* archive_ = nullptr;
  std::string name_;
  ChunkSink sink_;
  bool finished_ = false;
};

// Where ArchiveExtractor::extract puts the current entry of a reader.
struct ExtractTarget {
  std::filesystem::path path;      // the file to create (its parent must exist)
  std::filesystem::path hardlink;  // for a hardlink entry: the existing file to link to; else empty
  std::uint32_t uid = 0;           // owner, applied only when the process runs as root
  std::uint32_t gid = 0;
};

// Writes archive entries to disk with libarchive's disk writer: permissions (setuid included),
// times, extended attributes and (as root) the owner; a symlink in the target's path or a ".."
// is refused, and an existing non-directory at the target is replaced. User and group names
// are ignored: ids stay numeric, so the host's passwd never renames an archive's owners.
// Archives are untrusted: of the extended attributes only user.* and the POSIX ACLs
// (system.posix_acl_access/default) are written. security.* (file capabilities would give a
// host program real capabilities, labels would relabel it) and trusted.* (overlayfs metadata)
// and every other namespace are dropped, and extract() says so in its warning.
class HUTCH_API ArchiveExtractor {
 public:
  ArchiveExtractor();
  ArchiveExtractor(const ArchiveExtractor&) = delete;
  ArchiveExtractor& operator=(const ArchiveExtractor&) = delete;
  ~ArchiveExtractor();

  // Writes `reader`'s current entry, with its data, to `target`. Returns a warning (the
  // extended attributes dropped, or libarchive's, e.g. an xattr it could not set), empty when
  // there is none. Throws Errc::permission_denied
  // when the entry is refused (an unsafe path), Errc::io for every other failure; messages name
  // the entry and the archive.
  std::string extract(ArchiveReader& reader, const ExtractTarget& target);

 private:
  archive* disk_ = nullptr;
};

}  // namespace hutch
