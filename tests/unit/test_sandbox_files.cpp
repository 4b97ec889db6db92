// SandboxSpec::files (<hutch/sandbox_files.hpp>), the host-only fields an untrusted client may
// not set (<hutch/untrusted_spec.hpp>), max_file_bytes for Fs writes (limit_file_size) and
// the spec's JSON form of the three new fields.
#include <hutch/archive.hpp>
#include <hutch/error.hpp>
#include <hutch/fs.hpp>
#include <hutch/sandbox_files.hpp>
#include <hutch/spec.hpp>
#include <hutch/spec_json.hpp>
#include <hutch/untrusted_spec.hpp>

#include "error_of.hpp"

#include <gtest/gtest.h>

#include <cstdio>
#include <fstream>
#include <string>
#include <unistd.h>
#include <vector>

namespace hutch {
namespace {

using test::error_of;

SandboxFile file(std::string path, std::string content) {
  SandboxFile f;
  f.path = std::move(path);
  f.content = std::move(content);
  return f;
}

std::string message_of_invalid(const std::vector<SandboxFile>& files) {
  Error e = error_of([&] { validate_files(files); });
  EXPECT_EQ(e.code(), Errc::invalid_argument) << e.what();
  return e.what();
}

TEST(SandboxFiles, AValidManifestPasses) {
  SandboxFile from_host;
  from_host.path = "/etc/app/key";
  from_host.source = "/home/me/key";
  from_host.mode = 0600;
  from_host.owner = "1000:1000";
  EXPECT_NO_THROW(validate_files({file("/a/b", "x"), from_host, file("/empty", "")}));
}

TEST(SandboxFiles, EachBadEntryIsNamedByItsIndexAndPath) {
  EXPECT_NE(message_of_invalid({file("/ok", ""), file("relative", "")}).find("files[1] 'relative'"), std::string::npos);
  EXPECT_NE(message_of_invalid({file("/", "")}).find("not '/'"), std::string::npos);
  EXPECT_NE(message_of_invalid({file("/a//b", ""), file("/a/b", "")}).find("given twice"), std::string::npos);

  SandboxFile both = file("/f", "x");
  both.source = "/host";
  EXPECT_NE(message_of_invalid({both}).find("not both"), std::string::npos);
  SandboxFile relative_source = file("/f", "");
  relative_source.source = "host/file";
  EXPECT_NE(message_of_invalid({relative_source}).find("absolute"), std::string::npos);
  SandboxFile mode = file("/f", "");
  mode.mode = 010000;
  EXPECT_NE(message_of_invalid({mode}).find("07777"), std::string::npos);
  for (const char* owner : {"root", "1000:", ":1", "1:2:3", "-1"}) {
    SandboxFile owned = file("/f", "");
    owned.owner = owner;
    EXPECT_NE(message_of_invalid({owned}).find("owner"), std::string::npos) << owner;
  }
}

TEST(SandboxFiles, TheSpecChecksItsFilesMaxFileBytesAndWorkspace) {
  SandboxSpec spec;
  spec.files = {file("nope", "")};
  EXPECT_EQ(test::code_of([&] { validate(spec); }), Errc::invalid_argument);
  spec = {};
  spec.max_file_bytes = 0;
  EXPECT_NE(std::string(error_of([&] { validate(spec); }).what()).find("max_file_bytes"), std::string::npos);
  spec = {};
  spec.workspace = "../escape";
  EXPECT_NE(std::string(error_of([&] { validate(spec); }).what()).find("'../escape'"), std::string::npos);
}

TEST(SandboxFiles, TheRecordedSpecKeepsPathsModesAndSourcesButNoContents) {
  SandboxSpec spec;
  spec.files = {file("/a", "secret bytes")};
  spec.files[0].mode = 0600;
  const SandboxSpec recorded = without_file_contents(spec);
  ASSERT_EQ(recorded.files.size(), 1u);
  EXPECT_EQ(recorded.files[0].path, "/a");
  EXPECT_EQ(recorded.files[0].mode, 0600u);
  EXPECT_TRUE(recorded.files[0].content.empty());
}

TEST(UntrustedSpec, AHostSourceIsRefusedNamingTheField) {
  SandboxSpec spec;
  spec.files = {file("/inline", "bytes sent by the client")};
  EXPECT_NO_THROW(refuse_host_only_fields(spec));

  SandboxFile from_host;
  from_host.path = "/stolen";
  from_host.source = "/etc/shadow";
  spec.files.push_back(from_host);
  Error e = error_of([&] { refuse_host_only_fields(spec); });
  EXPECT_EQ(e.code(), Errc::invalid_argument);
  EXPECT_NE(std::string(e.what()).find("files[1].source ('/etc/shadow')"), std::string::npos) << e.what();
  EXPECT_NE(std::string(e.what()).find("files[1].content"), std::string::npos) << e.what();
}

TEST(UntrustedSpec, ASourceArrivingAsJsonIsRefusedToo) {
  // What a server would do with a request body: parse, then refuse before anything reads it.
  SandboxSpec sent;
  sent.files.push_back(SandboxFile{.path = "/x", .source = "/root/.ssh/id_ed25519"});
  const SandboxSpec spec = spec_from_json(spec_to_json(sent));
  ASSERT_EQ(spec.files.size(), 1u);
  ASSERT_EQ(spec.files[0].source, "/root/.ssh/id_ed25519") << "the JSON form carries the field";
  EXPECT_EQ(test::code_of([&] { refuse_host_only_fields(spec); }), Errc::invalid_argument);
}

TEST(MaxFileBytes, AStreamBeyondTheLimitIsRefusedWithTheLimitNamed) {
  std::vector<std::string> chunks = {std::string(6, 'a'), std::string(4, 'b'), std::string(1, 'c'), ""};
  std::size_t next = 0;
  ChunkSource limited = limit_file_size([&]() -> std::string_view { return chunks[next++]; }, 10, "write '/f'");
  EXPECT_EQ(limited().size(), 6u);
  EXPECT_EQ(limited().size(), 4u);  // exactly the limit is fine
  Error e = error_of([&] { limited(); });
  EXPECT_EQ(e.code(), Errc::invalid_argument);
  EXPECT_NE(std::string(e.what()).find("write '/f': more than 10 bytes"), std::string::npos) << e.what();
  EXPECT_NE(std::string(e.what()).find("max_file_bytes"), std::string::npos) << e.what();

  next = 0;
  ChunkSource unlimited = limit_file_size([&]() -> std::string_view { return chunks[next++]; }, std::nullopt, "w");
  std::size_t total = 0;
  for (std::string_view chunk = unlimited(); !chunk.empty(); chunk = unlimited()) total += chunk.size();
  EXPECT_EQ(total, 11u);
}

TEST(SpecJsonIssue14, FilesMaxFileBytesAndWorkspaceRoundTrip) {
  SandboxSpec spec;
  spec.files = {file("/a", "content")};
  SandboxFile from_host;
  from_host.path = "/b";
  from_host.source = "/host/b";
  from_host.mode = 0755;
  from_host.owner = "1:2";
  spec.files.push_back(from_host);
  spec.max_file_bytes = 12345;
  spec.workspace = "proj";
  EXPECT_EQ(spec_from_json(spec_to_json(spec)), spec);
}

// add_files_to_archive: the docker backend's one-request staging of a manifest.
std::string archive_of(const std::vector<SandboxFile>& files, std::optional<std::uint64_t> max_file_bytes) {
  std::string tar;
  ArchiveWriter writer([&](std::string_view chunk) { return tar.append(chunk), true; });
  add_files_to_archive(writer, files, max_file_bytes, 1000, 1001);
  writer.finish();
  return tar;
}

TEST(FilesArchive, EntriesAreRelativeWithModeOwnerAndContentFromMemoryOrHost) {
  char host_path[] = "/tmp/hutch-files-archive-XXXXXX";
  const int fd = ::mkstemp(host_path);
  ASSERT_GE(fd, 0);
  ::close(fd);
  std::ofstream(host_path) << "from the host";
  SandboxFile from_host;
  from_host.path = "/etc//app/key";
  from_host.source = host_path;
  from_host.mode = 0600;
  const std::string tar = archive_of({file("/workspace/a.txt", "alpha"), from_host}, std::nullopt);
  std::remove(host_path);

  ArchiveReader reader = ArchiveReader::from_memory(tar, "staged");
  ASSERT_NE(reader.next(), nullptr);
  EXPECT_EQ(reader.entry_path(), "workspace/a.txt");
  EXPECT_EQ(reader.entry_mode(), 0644u);
  EXPECT_EQ(reader.entry_stat().uid, 1000u);
  EXPECT_EQ(reader.entry_stat().gid, 1001u);
  std::string data;
  reader.read_data([&](std::string_view chunk) { return data.append(chunk), true; });
  EXPECT_EQ(data, "alpha");
  ASSERT_NE(reader.next(), nullptr);
  EXPECT_EQ(reader.entry_path(), "etc/app/key");
  EXPECT_EQ(reader.entry_mode(), 0600u);
  data.clear();
  reader.read_data([&](std::string_view chunk) { return data.append(chunk), true; });
  EXPECT_EQ(data, "from the host");
  EXPECT_EQ(reader.next(), nullptr);
}

TEST(FilesArchive, AFileBeyondMaxFileBytesOrAMissingSourceIsRefusedNamingIt) {
  Error too_big = error_of([&] { archive_of({file("/small", "ok"), file("/big", std::string(100, 'x'))}, 99); });
  EXPECT_EQ(too_big.code(), Errc::invalid_argument);
  EXPECT_NE(std::string(too_big.what()).find("files[1] '/big'"), std::string::npos) << too_big.what();
  EXPECT_NE(std::string(too_big.what()).find("max_file_bytes"), std::string::npos) << too_big.what();
  EXPECT_NO_THROW(archive_of({file("/exact", std::string(99, 'x'))}, 99));

  SandboxFile missing;
  missing.path = "/gone";
  missing.source = "/nonexistent/hutch-host-file";
  Error not_there = error_of([&] { archive_of({missing}, std::nullopt); });
  EXPECT_EQ(not_there.code(), Errc::not_found);
  EXPECT_NE(std::string(not_there.what()).find("files[0] '/gone'"), std::string::npos) << not_there.what();
}

}  // namespace
}  // namespace hutch
