// RAII wrappers over libarchive: see <hutch/archive.hpp>.
#include <hutch/archive.hpp>
#include <hutch/error.hpp>
#include <hutch/log.hpp>

#include <archive.h>
#include <archive_entry.h>

#include <spdlog/spdlog.h>

#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <exception>
#include <string_view>
#include <utility>
#include <vector>

namespace hutch {

namespace {

constexpr std::size_t kReadBlock = 64 * 1024;

std::string libarchive_message(archive* a) {
  const char* text = archive_error_string(a);
  return text != nullptr ? text : "unknown libarchive error";
}

// A read handle for tar, plain or compressed. Only these are registered (never the *_all
// calls): with a static libarchive, each format and filter named here is all that gets linked,
// and the *_all calls would pull in xar's libxml2 (and ICU behind it), lz4, lzo, ...
archive* new_read_archive(const std::string& name) {
  archive* a = archive_read_new();
  if (a == nullptr) throw Error(Errc::io, "cannot allocate an archive reader for " + name);
  archive_read_support_filter_gzip(a);
  archive_read_support_filter_bzip2(a);
  archive_read_support_filter_xz(a);
  archive_read_support_filter_lzma(a);
  archive_read_support_filter_zstd(a);
  archive_read_support_format_tar(a);
  return a;
}

// The source of a reader made by from_stream. libarchive owns it once the archive is opened
// and frees it in the close callback, so the reader itself stays a plain movable handle.
struct StreamSource {
  ChunkSource next;
};

la_ssize_t read_from_source(archive* a, void* data, const void** buffer) {
  try {
    const std::string_view chunk = static_cast<StreamSource*>(data)->next();
    *buffer = chunk.data();
    return static_cast<la_ssize_t>(chunk.size());
  } catch (const std::exception& e) {
    // An exception must not unwind through libarchive's C frames.
    archive_set_error(a, EIO, "%s", e.what());
  } catch (...) {
    archive_set_error(a, EIO, "the archive source failed");
  }
  return -1;
}

int close_source(archive*, void* data) {
  delete static_cast<StreamSource*>(data);
  return ARCHIVE_OK;
}

}  // namespace

// --- reading -----------------------------------------------------------------------------

ArchiveReader::ArchiveReader(const std::filesystem::path& file) : name_(file.string()) {
  archive_ = new_read_archive(name_);
  if (archive_read_open_filename(archive_, name_.c_str(), kReadBlock) != ARCHIVE_OK) {
    const int err = archive_errno(archive_);
    const std::string message = libarchive_message(archive_);
    archive_read_free(std::exchange(archive_, nullptr));
    throw Error(err == ENOENT ? Errc::not_found : Errc::io,
                "cannot open archive '" + name_ + "': " + message);
  }
}

ArchiveReader ArchiveReader::from_memory(std::string_view data, std::string name) {
  ArchiveReader reader;
  reader.name_ = std::move(name);
  reader.archive_ = new_read_archive(reader.name_);
  if (archive_read_open_memory(reader.archive_, data.data(), data.size()) != ARCHIVE_OK)
    reader.fail("cannot open");
  return reader;
}

ArchiveReader ArchiveReader::from_stream(ChunkSource source, std::string name) {
  ArchiveReader reader;
  reader.name_ = std::move(name);
  reader.archive_ = new_read_archive(reader.name_);
  if (archive_read_open(reader.archive_, new StreamSource{std::move(source)}, nullptr,
                        read_from_source, close_source) != ARCHIVE_OK)
    reader.fail("cannot open");
  return reader;
}

ArchiveReader::ArchiveReader(ArchiveReader&& other) noexcept
    : archive_(std::exchange(other.archive_, nullptr)),
      entry_(std::exchange(other.entry_, nullptr)),
      name_(std::move(other.name_)) {}

ArchiveReader& ArchiveReader::operator=(ArchiveReader&& other) noexcept {
  if (this != &other) {
    if (archive_ != nullptr) archive_read_free(archive_);
    archive_ = std::exchange(other.archive_, nullptr);
    entry_ = std::exchange(other.entry_, nullptr);
    name_ = std::move(other.name_);
  }
  return *this;
}

ArchiveReader::~ArchiveReader() {
  if (archive_ != nullptr) archive_read_free(archive_);
}

void ArchiveReader::fail(const std::string& what) const {
  std::string message = what + " archive '" + name_ + "'";
  if (entry_ != nullptr && archive_entry_pathname(entry_) != nullptr)
    message += " at entry '" + std::string(archive_entry_pathname(entry_)) + "'";
  throw Error(Errc::io, message + ": " + libarchive_message(archive_));
}

archive_entry* ArchiveReader::next() {
  const int rc = archive_read_next_header(archive_, &entry_);
  if (rc == ARCHIVE_EOF) {
    entry_ = nullptr;
    return nullptr;
  }
  if (rc == ARCHIVE_WARN) {
    logger()->warn("archive '{}': {}", name_, libarchive_message(archive_));
  } else if (rc != ARCHIVE_OK) {
    entry_ = nullptr;
    fail("cannot read the next entry of");
  }
  return entry_;
}

std::string ArchiveReader::entry_path() const {
  if (entry_ == nullptr) return {};
  const char* path = archive_entry_pathname(entry_);
  return path != nullptr ? path : "";
}

FileType ArchiveReader::entry_type() const {
  if (entry_ == nullptr) return FileType::other;
  if (archive_entry_hardlink(entry_) != nullptr) return FileType::regular;
  switch (archive_entry_filetype(entry_)) {
    case AE_IFREG: return FileType::regular;
    case AE_IFDIR: return FileType::directory;
    case AE_IFLNK: return FileType::symlink;
    default: return FileType::other;
  }
}

std::uint32_t ArchiveReader::entry_mode() const {
  return entry_ != nullptr ? static_cast<std::uint32_t>(archive_entry_perm(entry_)) : 0;
}

std::uint64_t ArchiveReader::entry_size() const {
  if (entry_ == nullptr || !archive_entry_size_is_set(entry_)) return 0;
  return static_cast<std::uint64_t>(archive_entry_size(entry_));
}

std::string ArchiveReader::entry_symlink() const {
  const char* target = entry_ != nullptr ? archive_entry_symlink(entry_) : nullptr;
  return target != nullptr ? target : "";
}

std::string ArchiveReader::entry_hardlink() const {
  const char* target = entry_ != nullptr ? archive_entry_hardlink(entry_) : nullptr;
  return target != nullptr ? target : "";
}

std::string ArchiveReader::entry_relative_path() const {
  std::string path = entry_path();
  for (;;) {
    if (path.starts_with("./")) path.erase(0, 2);
    else if (path.starts_with("/")) path.erase(0, 1);
    else break;
  }
  while (!path.empty() && path.back() == '/') path.pop_back();
  return path == "." ? "" : path;
}

FileStat ArchiveReader::entry_stat() const {
  FileStat stat;
  if (entry_ == nullptr) return stat;
  stat.type = entry_type();
  stat.size = entry_size();
  stat.mode = entry_mode();
  stat.uid = static_cast<std::uint32_t>(archive_entry_uid(entry_));
  stat.gid = static_cast<std::uint32_t>(archive_entry_gid(entry_));
  stat.mtime = std::chrono::system_clock::time_point(std::chrono::seconds(archive_entry_mtime(entry_)));
  stat.link_target = entry_symlink();
  return stat;
}

void ArchiveReader::read_data(const ChunkSink& sink) {
  const void* block = nullptr;
  size_t size = 0;
  la_int64_t offset = 0;
  la_int64_t written = 0;
  static const std::string zeros(kReadBlock, '\0');
  for (;;) {
    const int rc = archive_read_data_block(archive_, &block, &size, &offset);
    if (rc == ARCHIVE_EOF) return;
    if (rc != ARCHIVE_OK && rc != ARCHIVE_WARN) fail("cannot read data of");
    // Sparse entries leave holes between blocks; the sink sees them as zeros.
    while (written < offset) {
      const auto gap = static_cast<std::size_t>(
          std::min<la_int64_t>(offset - written, static_cast<la_int64_t>(zeros.size())));
      if (!sink(std::string_view(zeros.data(), gap))) return;
      written += static_cast<la_int64_t>(gap);
    }
    if (size > 0 && !sink(std::string_view(static_cast<const char*>(block), size))) return;
    written = offset + static_cast<la_int64_t>(size);
  }
}

std::uint32_t ArchiveReader::entry_filetype() const {
  return entry_ != nullptr ? static_cast<std::uint32_t>(archive_entry_filetype(entry_)) : 0;
}

std::uint64_t ArchiveReader::bytes_consumed() const {
  const la_int64_t bytes = archive_filter_bytes(archive_, -1);
  return bytes > 0 ? static_cast<std::uint64_t>(bytes) : 0;
}

// --- writing -----------------------------------------------------------------------------

namespace {

void apply_options(archive_entry* entry, const ArchiveEntryOptions& options, mode_t type,
                   std::uint32_t default_mode) {
  archive_entry_set_filetype(entry, type);
  archive_entry_set_perm(entry, options.mode != 0 ? options.mode : default_mode);
  archive_entry_set_uid(entry, options.uid);
  archive_entry_set_gid(entry, options.gid);
  archive_entry_set_mtime(entry, options.mtime_unix, 0);
}

struct EntryPtr {
  archive_entry* entry = archive_entry_new();
  ~EntryPtr() { archive_entry_free(entry); }
};

}  // namespace

ArchiveWriter::ArchiveWriter(const std::filesystem::path& file) : name_(file.string()) {
  archive_ = archive_write_new();
  if (archive_ == nullptr) throw Error(Errc::io, "cannot allocate an archive writer for " + name_);
  archive_write_set_format_pax_restricted(archive_);
  if (archive_write_open_filename(archive_, name_.c_str()) != ARCHIVE_OK) {
    const std::string message = libarchive_message(archive_);
    archive_write_free(std::exchange(archive_, nullptr));
    throw Error(Errc::io, "cannot create archive '" + name_ + "': " + message);
  }
}

ArchiveWriter::ArchiveWriter(ChunkSink sink, std::string name)
    : name_(std::move(name)), sink_(std::move(sink)) {
  archive_ = archive_write_new();
  if (archive_ == nullptr) throw Error(Errc::io, "cannot allocate an archive writer for " + name_);
  archive_write_set_format_pax_restricted(archive_);
  // Without this libarchive pads the last block to 10 KiB; a stream does not need it.
  archive_write_set_bytes_in_last_block(archive_, 1);
  auto write_callback = [](archive* a, void* self, const void* buffer, size_t length) -> la_ssize_t {
    auto* writer = static_cast<ArchiveWriter*>(self);
    if (!writer->sink_(std::string_view(static_cast<const char*>(buffer), length))) {
      archive_set_error(a, ECANCELED, "the receiver stopped reading");
      return -1;
    }
    return static_cast<la_ssize_t>(length);
  };
  if (archive_write_open(archive_, this, nullptr, write_callback, nullptr) != ARCHIVE_OK) {
    const std::string message = libarchive_message(archive_);
    archive_write_free(std::exchange(archive_, nullptr));
    throw Error(Errc::io, "cannot start archive '" + name_ + "': " + message);
  }
}

ArchiveWriter::~ArchiveWriter() {
  if (archive_ == nullptr) return;
  if (!finished_ && archive_write_close(archive_) != ARCHIVE_OK)
    logger()->warn("archive '{}' was not finished cleanly: {}", name_, libarchive_message(archive_));
  archive_write_free(archive_);
}

void ArchiveWriter::fail(const std::string& what) const {
  throw Error(Errc::io, what + " in archive '" + name_ + "': " + libarchive_message(archive_));
}

void ArchiveWriter::write_header(archive_entry* entry, const std::string& path) {
  if (finished_) throw Error(Errc::state, "archive '" + name_ + "' is already finished");
  archive_entry_set_pathname(entry, path.c_str());
  if (archive_write_header(archive_, entry) < ARCHIVE_WARN)
    fail("cannot write the header of '" + path + "'");
}

void ArchiveWriter::add_directory(const std::string& path, ArchiveEntryOptions options) {
  EntryPtr e;
  apply_options(e.entry, options, AE_IFDIR, 0755);
  write_header(e.entry, path);
}

void ArchiveWriter::add_file(const std::string& path, std::string_view data,
                             ArchiveEntryOptions options) {
  bool sent = false;
  add_file_stream(
      path, data.size(),
      [&]() -> std::string_view {
        if (sent) return {};
        sent = true;
        return data;
      },
      options);
}

void ArchiveWriter::add_file_stream(const std::string& path, std::uint64_t size,
                                    const ChunkSource& source, ArchiveEntryOptions options) {
  EntryPtr e;
  apply_options(e.entry, options, AE_IFREG, 0644);
  archive_entry_set_size(e.entry, static_cast<la_int64_t>(size));
  write_header(e.entry, path);
  std::uint64_t written = 0;
  for (std::string_view chunk = source(); !chunk.empty(); chunk = source()) {
    if (written + chunk.size() > size)
      throw Error(Errc::io, "entry '" + path + "' of archive '" + name_ + "' is longer than the " +
                                std::to_string(size) + " bytes announced");
    if (archive_write_data(archive_, chunk.data(), chunk.size()) < 0)
      fail("cannot write the data of '" + path + "'");
    written += chunk.size();
  }
  if (written != size)
    throw Error(Errc::io, "entry '" + path + "' of archive '" + name_ + "' ended after " +
                              std::to_string(written) + " of " + std::to_string(size) + " bytes");
}

void ArchiveWriter::add_symlink(const std::string& path, const std::string& target,
                                ArchiveEntryOptions options) {
  EntryPtr e;
  apply_options(e.entry, options, AE_IFLNK, 0777);
  archive_entry_set_symlink(e.entry, target.c_str());
  write_header(e.entry, path);
}

void ArchiveWriter::add_hardlink(const std::string& path, const std::string& target,
                                 ArchiveEntryOptions options) {
  EntryPtr e;
  apply_options(e.entry, options, AE_IFREG, 0644);
  archive_entry_set_hardlink(e.entry, target.c_str());
  archive_entry_set_size(e.entry, 0);
  write_header(e.entry, path);
}

void ArchiveWriter::finish() {
  if (finished_) return;
  finished_ = true;
  if (archive_write_close(archive_) != ARCHIVE_OK) fail("cannot finish");
}

// --- extracting --------------------------------------------------------------------------

namespace {

// Extended attributes an archive may set on the host. user.* is the archive's own data and
// system.posix_acl_* grants no more than permission bits could; security.* (file
// capabilities, SELinux/SMACK labels, IMA), trusted.* (overlayfs redirects and opaque marks)
// and anything unknown would act on the host with the authority of whoever extracts.
bool xattr_allowed(std::string_view name) {
  return name.starts_with("user.") || name == "system.posix_acl_access" ||
         name == "system.posix_acl_default";
}

// Removes the entry's extended attributes that xattr_allowed refuses; returns their names.
std::vector<std::string> drop_unsafe_xattrs(archive_entry* entry) {
  struct Kept {
    std::string name;
    std::string value;
  };
  std::vector<Kept> kept;
  std::vector<std::string> dropped;
  archive_entry_xattr_reset(entry);
  const char* name = nullptr;
  const void* value = nullptr;
  size_t size = 0;
  while (archive_entry_xattr_next(entry, &name, &value, &size) == ARCHIVE_OK) {
    if (name == nullptr) continue;
    if (xattr_allowed(name))
      kept.push_back({name, std::string(static_cast<const char*>(value), size)});
    else
      dropped.emplace_back(name);
  }
  if (dropped.empty()) return dropped;
  archive_entry_xattr_clear(entry);
  for (const Kept& xattr : kept)
    archive_entry_xattr_add_entry(entry, xattr.name.c_str(), xattr.value.data(), xattr.value.size());
  return dropped;
}

}  // namespace

ArchiveExtractor::ArchiveExtractor() : disk_(archive_write_disk_new()) {
  if (disk_ == nullptr) throw Error(Errc::io, "cannot allocate a libarchive disk writer");
  int flags = ARCHIVE_EXTRACT_PERM | ARCHIVE_EXTRACT_TIME | ARCHIVE_EXTRACT_XATTR |
              ARCHIVE_EXTRACT_SECURE_SYMLINKS | ARCHIVE_EXTRACT_SECURE_NODOTDOT | ARCHIVE_EXTRACT_UNLINK;
  if (::geteuid() == 0) flags |= ARCHIVE_EXTRACT_OWNER;
  // No user/group name lookup is installed: ids stay numeric.
  archive_write_disk_set_options(disk_, flags);
}

ArchiveExtractor::~ArchiveExtractor() { archive_write_free(disk_); }

std::string ArchiveExtractor::extract(ArchiveReader& reader, const ExtractTarget& target) {
  archive_entry* entry = reader.entry_;
  if (entry == nullptr) throw Error(Errc::invalid_argument, "archive '" + reader.name() + "': no current entry to extract");
  const std::string raw = reader.entry_path();
  const std::string where = "entry '" + raw + "' of archive '" + reader.name() + "'";
  archive_entry_set_pathname(entry, target.path.c_str());
  if (!target.hardlink.empty()) archive_entry_set_hardlink(entry, target.hardlink.c_str());
  archive_entry_set_uname(entry, nullptr);
  archive_entry_set_gname(entry, nullptr);
  archive_entry_set_uid(entry, target.uid);
  archive_entry_set_gid(entry, target.gid);

  std::string warning;
  if (const std::vector<std::string> dropped = drop_unsafe_xattrs(entry); !dropped.empty()) {
    warning = "dropped extended attribute";
    for (std::size_t i = 0; i < dropped.size(); ++i) warning += (i == 0 ? " " : ", ") + dropped[i];
  }
  const int rc = archive_write_header(disk_, entry);
  if (rc < ARCHIVE_WARN)
    throw Error(rc == ARCHIVE_FAILED ? Errc::permission_denied : Errc::io,
                "cannot extract " + where + ": " + libarchive_message(disk_));
  if (rc == ARCHIVE_WARN) warning += (warning.empty() ? "" : "; ") + libarchive_message(disk_);
  if (archive_entry_size(entry) > 0) {
    const void* block = nullptr;
    size_t size = 0;
    la_int64_t offset = 0;
    for (;;) {
      const int read_rc = archive_read_data_block(reader.archive_, &block, &size, &offset);
      if (read_rc == ARCHIVE_EOF) break;
      if (read_rc < ARCHIVE_WARN)
        throw Error(Errc::io, "cannot read " + where + ": " + libarchive_message(reader.archive_));
      if (archive_write_data_block(disk_, block, size, offset) < ARCHIVE_WARN)
        throw Error(Errc::io, "cannot write '" + target.path.string() + "': " + libarchive_message(disk_));
    }
  }
  if (archive_write_finish_entry(disk_) < ARCHIVE_WARN)
    throw Error(Errc::io, "cannot finish '" + target.path.string() + "': " + libarchive_message(disk_));
  return warning;
}

}  // namespace hutch
