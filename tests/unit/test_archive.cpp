// hutch::ArchiveReader / ArchiveWriter: round trips through memory and files, entry metadata,
// streaming, and the errors a caller sees for missing, corrupt and inconsistent archives.
#include <hutch/archive.hpp>
#include <hutch/error.hpp>

#include "error_of.hpp"
#include "temp_dir.hpp"

#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>
#include <vector>

namespace fs = std::filesystem;
using hutch::ArchiveReader;
using hutch::ArchiveWriter;
using hutch::Errc;
using hutch::FileType;

namespace {

std::string build_sample() {
  std::string tar;
  ArchiveWriter writer([&](std::string_view chunk) {
    tar.append(chunk);
    return true;
  });
  writer.add_directory("dir", {.mode = 0750});
  writer.add_file("dir/hello.txt", "hello world", {.mode = 0640, .uid = 1000, .gid = 1000});
  writer.add_symlink("link", "dir/hello.txt");
  writer.add_hardlink("dir/again.txt", "dir/hello.txt");
  writer.finish();
  return tar;
}

using hutch::test::code_of;

// The current entry's data, read to the end.
std::string data_of(ArchiveReader& reader) {
  std::string content;
  reader.read_data([&](std::string_view chunk) {
    content.append(chunk);
    return true;
  });
  return content;
}

TEST(Archive, MemoryRoundTripKeepsEntriesAndMetadata) {
  const std::string tar = build_sample();
  ASSERT_EQ(tar.size() % 512, 0u) << "a tar is made of 512-byte blocks";
  ArchiveReader reader = ArchiveReader::from_memory(tar, "sample");

  ASSERT_NE(reader.next(), nullptr);
  EXPECT_EQ(reader.entry_path(), "dir/");
  EXPECT_EQ(reader.entry_type(), FileType::directory);
  EXPECT_EQ(reader.entry_mode(), 0750u);

  ASSERT_NE(reader.next(), nullptr);
  EXPECT_EQ(reader.entry_path(), "dir/hello.txt");
  EXPECT_EQ(reader.entry_type(), FileType::regular);
  EXPECT_EQ(reader.entry_size(), 11u);
  EXPECT_EQ(reader.entry_mode(), 0640u);
  EXPECT_EQ(data_of(reader), "hello world");

  ASSERT_NE(reader.next(), nullptr);
  EXPECT_EQ(reader.entry_type(), FileType::symlink);
  EXPECT_EQ(reader.entry_symlink(), "dir/hello.txt");

  ASSERT_NE(reader.next(), nullptr);
  EXPECT_EQ(reader.entry_path(), "dir/again.txt");
  EXPECT_EQ(reader.entry_hardlink(), "dir/hello.txt");

  EXPECT_EQ(reader.next(), nullptr);
  EXPECT_GE(reader.bytes_consumed(), 512u);
}

TEST(Archive, FileRoundTripStreamsLargeEntries) {
  const hutch::test::TempDir dir("hutch-archive-");
  const fs::path file = dir / "big.tar";
  constexpr std::uint64_t kSize = 8u << 20;
  const std::string piece(64 * 1024, 'q');
  {
    ArchiveWriter writer(file);
    std::uint64_t sent = 0;
    writer.add_file_stream("big", kSize, [&]() -> std::string_view {
      if (sent == kSize) return {};
      sent += piece.size();
      return piece;
    });
    writer.finish();
  }
  ArchiveReader reader(file);
  ASSERT_NE(reader.next(), nullptr);
  EXPECT_EQ(reader.entry_size(), kSize);
  std::uint64_t received = 0;
  std::size_t largest = 0;
  bool all_q = true;
  reader.read_data([&](std::string_view chunk) {
    received += chunk.size();
    largest = std::max(largest, chunk.size());
    all_q = all_q && chunk.find_first_not_of('q') == std::string_view::npos;
    return true;
  });
  EXPECT_EQ(received, kSize);
  EXPECT_TRUE(all_q);
  EXPECT_LT(largest, kSize) << "data must arrive in chunks, not as one buffer";
}

// Hands `data` out in pieces of `piece` bytes, as a network body arrives.
hutch::ChunkSource pieces_of(const std::string& data, std::size_t piece, std::size_t* calls = nullptr) {
  auto offset = std::make_shared<std::size_t>(0);
  return [&data, piece, offset, calls]() -> std::string_view {
    if (calls != nullptr) ++*calls;
    const std::string_view chunk = std::string_view(data).substr(*offset, piece);
    *offset += chunk.size();
    return chunk;
  };
}

TEST(Archive, StreamSourceReadsEntriesAsTheyArrive) {
  const std::string tar = build_sample();
  std::size_t calls = 0;
  ArchiveReader reader = ArchiveReader::from_stream(pieces_of(tar, 100, &calls), "streamed");
  ASSERT_NE(reader.next(), nullptr);
  EXPECT_EQ(reader.entry_relative_path(), "dir");
  ASSERT_NE(reader.next(), nullptr);
  EXPECT_EQ(reader.entry_relative_path(), "dir/hello.txt");
  const hutch::FileStat stat = reader.entry_stat();
  EXPECT_EQ(stat.type, FileType::regular);
  EXPECT_EQ(stat.size, 11u);
  EXPECT_EQ(stat.mode, 0640u);
  EXPECT_EQ(stat.uid, 1000u);
  EXPECT_EQ(stat.gid, 1000u);
  EXPECT_EQ(data_of(reader), "hello world");
  ASSERT_NE(reader.next(), nullptr);
  EXPECT_EQ(reader.entry_stat().type, FileType::symlink);
  EXPECT_EQ(reader.entry_stat().link_target, "dir/hello.txt");
  ASSERT_NE(reader.next(), nullptr);
  EXPECT_EQ(reader.entry_stat().type, FileType::regular) << "a hardlink reads as a regular file";
  EXPECT_EQ(reader.next(), nullptr);
  EXPECT_GT(calls, tar.size() / 100) << "the source was read piece by piece";
}

TEST(Archive, StreamedReaderCanBeMovedWhileOpen) {
  const std::string tar = build_sample();
  ArchiveReader first = ArchiveReader::from_stream(pieces_of(tar, 512), "moved");
  ASSERT_NE(first.next(), nullptr);
  ArchiveReader second = std::move(first);
  ASSERT_NE(second.next(), nullptr);
  EXPECT_EQ(second.entry_path(), "dir/hello.txt");
}

TEST(Archive, RelativePathDropsDotSlashAndSlashes) {
  std::string tar;
  {
    ArchiveWriter writer([&](std::string_view chunk) {
      tar.append(chunk);
      return true;
    });
    writer.add_directory("./");
    writer.add_directory("./sub/");
    writer.add_file("/abs/file", "x");
    writer.finish();
  }
  ArchiveReader reader = ArchiveReader::from_memory(tar);
  std::vector<std::string> paths;
  while (reader.next() != nullptr) paths.push_back(reader.entry_relative_path());
  EXPECT_EQ(paths, (std::vector<std::string>{"", "sub", "abs/file"}));
}

TEST(Archive, AFailingStreamSourceIsAnIoErrorNamingTheArchive) {
  const std::string tar = build_sample();
  std::size_t served = 0;
  auto source = [&]() -> std::string_view {
    if (served >= 1024) throw hutch::Error(Errc::timeout, "the daemon stopped sending");
    const std::string_view chunk = std::string_view(tar).substr(served, 512);
    served += chunk.size();
    return chunk;
  };
  try {
    ArchiveReader reader = ArchiveReader::from_stream(source, "sandbox x:/big");
    while (reader.next() != nullptr) reader.read_data([](std::string_view) { return true; });
    ADD_FAILURE() << "the broken stream was read to the end";
  } catch (const hutch::Error& e) {
    EXPECT_EQ(e.code(), Errc::io);
    const std::string message = e.what();
    EXPECT_NE(message.find("sandbox x:/big"), std::string::npos) << message;
    EXPECT_NE(message.find("the daemon stopped sending"), std::string::npos) << message;
  }
}

TEST(Archive, ReaderStopsWhenTheSinkSaysSo) {
  const std::string tar = build_sample();
  ArchiveReader reader = ArchiveReader::from_memory(tar);
  reader.next();
  reader.next();
  int calls = 0;
  reader.read_data([&](std::string_view) {
    ++calls;
    return false;
  });
  EXPECT_EQ(calls, 1);
  ASSERT_NE(reader.next(), nullptr) << "the next entry is still readable after an early stop";
  EXPECT_EQ(reader.entry_type(), FileType::symlink);
}

TEST(Archive, ErrorsNameTheArchive) {
  EXPECT_EQ(code_of([] { ArchiveReader reader("/nonexistent/x.tar"); }), Errc::not_found);
  const std::string garbage(2048, 'z');
  try {
    ArchiveReader reader = ArchiveReader::from_memory(garbage, "garbage.tar");
    reader.next();
    ADD_FAILURE() << "garbage was read as an archive";
  } catch (const hutch::Error& e) {
    EXPECT_EQ(e.code(), Errc::io);
    EXPECT_NE(std::string(e.what()).find("garbage.tar"), std::string::npos) << e.what();
  }
}

TEST(Archive, WriterRefusesSizeMismatchAndUseAfterFinish) {
  std::string tar;
  ArchiveWriter writer([&](std::string_view chunk) {
    tar.append(chunk);
    return true;
  });
  bool sent = false;
  const auto once = [&]() -> std::string_view {
    if (sent) return {};
    sent = true;
    return "12345";
  };
  EXPECT_EQ(code_of([&] { writer.add_file_stream("short", 10, once); }), Errc::io);
  sent = false;
  EXPECT_EQ(code_of([&] { writer.add_file_stream("long", 2, once); }), Errc::io);
  ArchiveWriter clean([&](std::string_view) { return true; });
  clean.finish();
  EXPECT_EQ(code_of([&] { clean.add_directory("late"); }), Errc::state);
}

TEST(Archive, WriterReportsAReceiverThatStops) {
  ArchiveWriter writer([](std::string_view) { return false; });
  // libarchive buffers; the refusal surfaces at the latest when the archive is finished.
  EXPECT_EQ(code_of([&] {
              writer.add_file("a", std::string(64 * 1024, 'a'));
              writer.finish();
            }),
            Errc::io);
}

}  // namespace

// libhutch links only the tar reader and these filters (statically): each must really be there.
// The compressed files are made by the usual command-line tools, as a user's tarball would be.
TEST(Archive, ReadsTarCompressedWithEveryFilterItLinks) {
  const hutch::test::TempDir dir("hutch-archive-");
  const fs::path tar = dir / "sample.tar";
  std::ofstream(tar, std::ios::binary) << build_sample();
  for (const std::string tool : {"gzip", "bzip2", "xz", "lzma", "zstd -q"}) {
    const std::string name = tool.substr(0, tool.find(' '));
    const fs::path packed = dir / ("sample.tar." + name);
    const std::string command = tool + " -c " + tar.string() + " > " + packed.string();
    ASSERT_EQ(std::system(command.c_str()), 0) << command << " (install " << name << ")";
    ArchiveReader reader(packed);
    ASSERT_NE(reader.next(), nullptr) << name;
    EXPECT_EQ(reader.entry_path(), "dir/") << name;
    ASSERT_NE(reader.next(), nullptr) << name;
    EXPECT_EQ(data_of(reader), "hello world") << name;
  }
}

// Only tar is linked: another archive format is refused as unrecognised, never half-read.
TEST(Archive, RefusesArchiveFormatsOtherThanTar) {
  // An empty zip archive: just the end-of-central-directory record.
  const std::string zip = std::string("PK\x05\x06", 4) + std::string(18, '\0');
  EXPECT_EQ(code_of([&] {
              ArchiveReader reader = ArchiveReader::from_memory(zip, "empty.zip");
              reader.next();
            }),
            Errc::io);
}
