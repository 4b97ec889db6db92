// Reading tar from the Engine's archive endpoint as the response body arrives (libarchive with
// a read callback), so memory stays bounded whatever the archive's size. sbx::ArchiveReader
// (core) reads only files and memory; writing uses sbx::ArchiveWriter, which takes a sink.
#pragma once

#include <sbx/fs.hpp>

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include <sys/types.h>

struct archive;

namespace sbx::docker {

struct TarEntry {
  std::string path;  // as stored ("dir/file", no leading "/")
  FileStat stat;
};

class TarReader {
 public:
  // `next_chunk` returns successive pieces of the tar stream, an empty view at the end.
  // `what` names the stream in error messages.
  TarReader(std::function<std::string_view()> next_chunk, std::string what);
  ~TarReader();
  TarReader(const TarReader&) = delete;
  TarReader& operator=(const TarReader&) = delete;

  // The next entry's header, or nullopt at the end of the archive.
  std::optional<TarEntry> next();
  // Streams the current entry's data to `sink` (which may stop early by returning false).
  void read_data(const ChunkSink& sink);

 private:
  static ssize_t read_callback(archive*, void* self, const void** buffer);
  std::function<std::string_view()> next_chunk_;
  std::string what_;
  archive* archive_ = nullptr;
};

}  // namespace sbx::docker
