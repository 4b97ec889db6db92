// sbx::ArchiveReader / ArchiveWriter: round trips through memory and files, entry metadata,
// streaming, and the errors a caller sees for missing, corrupt and inconsistent archives.
#include <sbx/archive.hpp>
#include <sbx/error.hpp>

#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

namespace fs = std::filesystem;
using sbx::ArchiveReader;
using sbx::ArchiveWriter;
using sbx::Errc;
using sbx::FileType;

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

Errc code_of(const std::function<void()>& call) {
  try {
    call();
  } catch (const sbx::Error& e) {
    return e.code();
  }
  ADD_FAILURE() << "call did not throw";
  return Errc::io;
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
  std::string content;
  reader.read_data([&](std::string_view chunk) {
    content.append(chunk);
    return true;
  });
  EXPECT_EQ(content, "hello world");

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
  std::string pattern = (fs::temp_directory_path() / "sbx-archive-XXXXXX").string();
  ASSERT_NE(::mkdtemp(pattern.data()), nullptr);
  const fs::path dir = pattern;
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
  fs::remove_all(dir);
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
  } catch (const sbx::Error& e) {
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
