// Tar archives built in memory by tests: with hutch::ArchiveWriter, or entry by entry with the
// test's own libarchive for what ArchiveWriter never writes (device nodes, xattrs, links that
// climb out): the hostile archives of the image tests.
#pragma once

#include <hutch/archive.hpp>

#include <archive.h>
#include <archive_entry.h>
#include <gtest/gtest.h>

#include <sys/types.h>

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace hutch::test {

// A tar built in memory.
template <class Fill>
inline std::string make_tar(Fill&& fill) {
  std::string out;
  {
    hutch::ArchiveWriter writer([&](std::string_view chunk) {
      out.append(chunk);
      return true;
    });
    fill(writer);
    writer.finish();
  }
  return out;
}

// An entry for make_raw_tar: what hutch::ArchiveWriter does not write (device nodes, owner names).
struct RawEntry {
  std::string path;
  unsigned int type = AE_IFREG;
  unsigned int perm = 0644;
  std::string data;
  la_int64_t uid = 0;
  la_int64_t gid = 0;
  const char* uname = nullptr;
  const char* gname = nullptr;
  dev_t rdev = 0;
  std::vector<std::pair<std::string, std::string>> xattrs;  // name, value
  std::string symlink;   // the target of an AE_IFLNK entry
  std::string hardlink;  // a hard link to this earlier entry of the archive
};

// A pax tar writer of the test's own libarchive (hutch keeps its copy private) that appends
// to `out`; the caller closes and frees it.
inline archive* new_tar_writer(std::string& out) {
  archive* writer = archive_write_new();
  archive_write_set_format_pax_restricted(writer);
  archive_write_open(
      writer, &out, nullptr,
      [](archive*, void* data, const void* buffer, size_t size) -> la_ssize_t {
        static_cast<std::string*>(data)->append(static_cast<const char*>(buffer), size);
        return static_cast<la_ssize_t>(size);
      },
      nullptr);
  return writer;
}

// A tar of `entries`, written entry by entry.
inline std::string make_raw_tar(const std::vector<RawEntry>& entries) {
  std::string out;
  archive* writer = new_tar_writer(out);
  for (const auto& raw : entries) {
    archive_entry* entry = archive_entry_new();
    archive_entry_set_pathname(entry, raw.path.c_str());
    archive_entry_set_filetype(entry, raw.type);
    archive_entry_set_perm(entry, raw.perm);
    archive_entry_set_size(entry, static_cast<la_int64_t>(raw.data.size()));
    archive_entry_set_uid(entry, raw.uid);
    archive_entry_set_gid(entry, raw.gid);
    if (raw.uname) archive_entry_set_uname(entry, raw.uname);
    if (raw.gname) archive_entry_set_gname(entry, raw.gname);
    if (raw.rdev) archive_entry_set_rdev(entry, raw.rdev);
    if (!raw.symlink.empty()) archive_entry_set_symlink(entry, raw.symlink.c_str());
    if (!raw.hardlink.empty()) archive_entry_set_hardlink(entry, raw.hardlink.c_str());
    for (const auto& [name, value] : raw.xattrs)
      archive_entry_xattr_add_entry(entry, name.c_str(), value.data(), value.size());
    EXPECT_EQ(archive_write_header(writer, entry), ARCHIVE_OK) << raw.path;
    if (!raw.data.empty()) archive_write_data(writer, raw.data.data(), raw.data.size());
    archive_entry_free(entry);
  }
  archive_write_close(writer);
  archive_write_free(writer);
  return out;
}

// What `setcap cap_setuid,cap_setgid+ep` stores: a VFS_CAP_REVISION_2 security.capability
// (little-endian magic|effective, permitted and inheritable for caps 0-31, then 32-63).
inline std::string setuid_setgid_file_capability() {
  const std::uint32_t words[5] = {0x02000000u | 0x1u, (1u << 7) | (1u << 6), 0, 0, 0};
  return std::string(reinterpret_cast<const char*>(words), sizeof words);
}

}  // namespace hutch::test
