#include "tar_reader.hpp"

#include <sbx/error.hpp>

#include <archive.h>
#include <archive_entry.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <vector>

namespace sbx::docker {
namespace {

FileType file_type(mode_t mode) {
  if (S_ISREG(mode)) return FileType::regular;
  if (S_ISDIR(mode)) return FileType::directory;
  if (S_ISLNK(mode)) return FileType::symlink;
  return FileType::other;
}

std::string strip_dot_slash(std::string path) {
  while (path.starts_with("./")) path.erase(0, 2);
  while (path.size() > 1 && path.back() == '/') path.pop_back();
  return path;
}

}  // namespace

TarReader::TarReader(std::function<std::string_view()> next_chunk, std::string what)
    : next_chunk_(std::move(next_chunk)), what_(std::move(what)), archive_(archive_read_new()) {
  if (archive_ == nullptr) throw Error(Errc::io, what_ + ": cannot allocate a tar reader");
  archive_read_support_format_tar(archive_);
  if (archive_read_open(archive_, this, nullptr, &TarReader::read_callback, nullptr) != ARCHIVE_OK) {
    std::string message = archive_error_string(archive_) ? archive_error_string(archive_) : "unknown error";
    archive_read_free(archive_);
    throw Error(Errc::io, what_ + ": not a tar stream: " + message);
  }
}

TarReader::~TarReader() { archive_read_free(archive_); }

ssize_t TarReader::read_callback(archive* a, void* self, const void** buffer) {
  auto* reader = static_cast<TarReader*>(self);
  try {
    auto chunk = reader->next_chunk_();
    *buffer = chunk.data();
    return static_cast<ssize_t>(chunk.size());
  } catch (const std::exception& e) {
    archive_set_error(a, EIO, "%s", e.what());
    return -1;
  }
}

std::optional<TarEntry> TarReader::next() {
  archive_entry* entry = nullptr;
  int status = archive_read_next_header(archive_, &entry);
  if (status == ARCHIVE_EOF) return std::nullopt;
  if (status < ARCHIVE_WARN)
    throw Error(Errc::io, what_ + ": reading the tar stream failed: " +
                              (archive_error_string(archive_) ? archive_error_string(archive_) : "unknown error"));
  TarEntry out;
  out.path = strip_dot_slash(archive_entry_pathname(entry) ? archive_entry_pathname(entry) : "");
  mode_t mode = archive_entry_mode(entry);
  out.stat.type = file_type(mode);
  out.stat.mode = mode & 07777;
  out.stat.size = archive_entry_size_is_set(entry) ? static_cast<std::uint64_t>(archive_entry_size(entry)) : 0;
  out.stat.uid = static_cast<std::uint32_t>(archive_entry_uid(entry));
  out.stat.gid = static_cast<std::uint32_t>(archive_entry_gid(entry));
  out.stat.mtime = std::chrono::system_clock::time_point(std::chrono::seconds(archive_entry_mtime(entry)));
  if (const char* target = archive_entry_symlink(entry)) out.stat.link_target = target;
  if (const char* hardlink = archive_entry_hardlink(entry); hardlink && out.stat.type == FileType::other)
    out.stat.type = FileType::regular;
  return out;
}

void TarReader::read_data(const ChunkSink& sink) {
  std::vector<char> buffer(64 * 1024);
  for (;;) {
    la_ssize_t n = archive_read_data(archive_, buffer.data(), buffer.size());
    if (n == 0) return;
    if (n < 0)
      throw Error(Errc::io, what_ + ": reading file data from the tar stream failed: " +
                                (archive_error_string(archive_) ? archive_error_string(archive_) : "unknown error"));
    if (!sink(std::string_view(buffer.data(), static_cast<std::size_t>(n)))) return;
  }
}

}  // namespace sbx::docker
