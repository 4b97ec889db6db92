// Handle::fs(): every verb, large streamed files, and paths that try to leave the sandbox.
#include "fixture.hpp"

#include <algorithm>
#include <filesystem>
#include <functional>
#include <map>
#include <random>

namespace hutch::conformance {
namespace {

HUTCH_CONFORMANCE_SUITE(Files);

// Deterministic content that differs at every offset, so a lost or repeated chunk shows.
char byte_at(std::uint64_t offset) {
  return static_cast<char>((offset * 2654435761u >> 13) & 0xff);
}

std::vector<std::string> names_of(const std::vector<DirEntry>& entries) {
  std::vector<std::string> names;
  for (const auto& entry : entries) names.push_back(entry.name);
  return names;
}

TEST_P(Files, WriteThenReadGivesTheSameBytesAndMode) {
  auto sandbox = create();
  make_work_dir(*sandbox);
  auto& fs = sandbox->fs();
  std::string binary("a\0b\nc\xff", 6);
  fs.write(work_path("data"), binary, 0640);
  EXPECT_EQ(fs.read(work_path("data")), binary);
  FileStat stat = fs.stat(work_path("data"));
  EXPECT_EQ(stat.type, FileType::regular);
  EXPECT_EQ(stat.size, binary.size());
  EXPECT_EQ(stat.mode, 0640u);

  fs.write(work_path("data"), "shorter", 0755);
  EXPECT_EQ(fs.read(work_path("data")), "shorter") << "write must truncate";
  EXPECT_EQ(fs.stat(work_path("data")).mode, 0755u);
}

TEST_P(Files, MultiMegabyteFilesStreamBothWays) {
  auto sandbox = create();
  make_work_dir(*sandbox);
  auto& fs = sandbox->fs();
  constexpr std::uint64_t kSize = 8u << 20;
  constexpr std::size_t kChunk = 64 * 1024;

  std::uint64_t written = 0;
  std::string chunk;
  fs.write_stream(work_path("big"), [&]() -> std::string_view {
    if (written == kSize) return {};
    chunk.resize(std::min<std::uint64_t>(kChunk, kSize - written));
    for (std::size_t i = 0; i < chunk.size(); ++i) chunk[i] = byte_at(written + i);
    written += chunk.size();
    return chunk;
  });
  EXPECT_EQ(fs.stat(work_path("big")).size, kSize);

  std::uint64_t offset = 0;
  std::uint64_t mismatches = 0;
  fs.read_stream(work_path("big"), [&](std::string_view part) {
    for (char c : part) mismatches += (c != byte_at(offset++));
    return true;
  });
  EXPECT_EQ(offset, kSize);
  EXPECT_EQ(mismatches, 0u);

  // The contents also reach the commands inside the sandbox.
  ExecRequest req = request(cmd().cat_file(work_path("big")));
  req.output_limit = kSize + 1;
  ExecResult result = sandbox->exec(req);
  EXPECT_EQ(result.stdout_data.size(), kSize) << result.stderr_data;
}

TEST_P(Files, ReadStreamStopsWhenTheSinkSaysSo) {
  auto sandbox = create();
  make_work_dir(*sandbox);
  auto& fs = sandbox->fs();
  fs.write(work_path("big"), std::string(4u << 20, 'x'));
  int calls = 0;
  EXPECT_NO_THROW(fs.read_stream(work_path("big"), [&](std::string_view) {
    ++calls;
    return false;
  }));
  EXPECT_EQ(calls, 1);
}

TEST_P(Files, MkdirWithAndWithoutParents) {
  auto sandbox = create();
  auto& fs = sandbox->fs();
  std::string deep = work_path("a/b/c");
  fs.mkdir(deep, true);
  EXPECT_EQ(fs.stat(deep).type, FileType::directory);
  EXPECT_NO_THROW(fs.mkdir(deep, true)) << "mkdir -p of an existing directory";
  EXPECT_TRUE(throws_errc(Errc::already_exists, [&] { fs.mkdir(deep); }));
  EXPECT_TRUE(throws_errc(Errc::not_found, [&] { fs.mkdir(work_path("missing/child")); }));
  fs.mkdir(work_path("a/single"), false, 0700);
  FileStat single = fs.stat(work_path("a/single"));
  EXPECT_EQ(single.type, FileType::directory);
  EXPECT_EQ(single.mode, 0700u);
}

TEST_P(Files, ListIsSortedAndReportsTypes) {
  auto sandbox = create();
  auto& fs = sandbox->fs();
  std::string dir = work_path("listing");
  fs.mkdir(dir, true);
  fs.write(dir + "/b", "bb");
  fs.write(dir + "/a", "a");
  fs.mkdir(dir + "/c");
  fs.symlink("a", dir + "/d");
  auto entries = fs.list(dir);
  ASSERT_EQ(names_of(entries), (std::vector<std::string>{"a", "b", "c", "d"}));
  EXPECT_EQ(entries[0].stat.type, FileType::regular);
  EXPECT_EQ(entries[1].stat.size, 2u);
  EXPECT_EQ(entries[2].stat.type, FileType::directory);
  EXPECT_EQ(entries[3].stat.type, FileType::symlink) << "list must not follow symlinks";
  EXPECT_TRUE(throws_errc(Errc::not_found, [&] { fs.list(work_path("nope")); }));
}

TEST_P(Files, ReadTreeGivesParentsBeforeChildrenWithContent) {
  auto sandbox = create();
  make_work_dir(*sandbox);
  auto& fs = sandbox->fs();
  fs.mkdir(work_path("tree/sub/deeper"), true);
  fs.write(work_path("tree/top"), "top", 0640);
  fs.write(work_path("tree/sub/deeper/leaf"), "leaf");
  fs.symlink("top", work_path("tree/link"));

  std::map<std::string, FileStat> seen;
  std::map<std::string, std::string> content;
  fs.read_tree(work_path("tree"), [&](const TreeEntry& entry, const std::function<void(const ChunkSink&)>& read_data) {
    const auto slash = entry.path.rfind('/');
    if (!entry.path.empty())
      EXPECT_TRUE(seen.contains(slash == std::string::npos ? "" : entry.path.substr(0, slash)))
          << entry.path << " came before its directory";
    seen[entry.path] = entry.stat;
    read_data([&](std::string_view chunk) {
      content[entry.path].append(chunk);
      return true;
    });
  });
  std::vector<std::string> paths;
  for (const auto& [path, stat] : seen) paths.push_back(path);
  EXPECT_EQ(paths, (std::vector<std::string>{"", "link", "sub", "sub/deeper", "sub/deeper/leaf", "top"}));
  EXPECT_EQ(seen[""].type, FileType::directory);
  EXPECT_EQ(seen["sub/deeper"].type, FileType::directory);
  EXPECT_EQ(seen["link"].type, FileType::symlink);
  EXPECT_EQ(seen["link"].link_target, "top");
  EXPECT_EQ(seen["top"].mode, 0640u);
  EXPECT_EQ(content["top"], "top");
  EXPECT_EQ(content["sub/deeper/leaf"], "leaf");
  EXPECT_FALSE(content.contains("link"));

  // A file alone is a tree of one entry.
  std::vector<std::string> single;
  fs.read_tree(work_path("tree/top"), [&](const TreeEntry& entry, const auto&) { single.push_back(entry.path); });
  EXPECT_EQ(single, std::vector<std::string>{""});
}

TEST_P(Files, StatAndExists) {
  auto sandbox = create();
  make_work_dir(*sandbox);
  auto& fs = sandbox->fs();
  fs.symlink("dangling-target", work_path("link"));
  FileStat link = fs.stat(work_path("link"));
  EXPECT_EQ(link.type, FileType::symlink);
  EXPECT_EQ(link.link_target, "dangling-target");
  EXPECT_EQ(fs.stat(kWorkDir).type, FileType::directory);
  EXPECT_TRUE(fs.exists(work_path("link")));
  EXPECT_FALSE(fs.exists(work_path("nothing-here")));
  EXPECT_TRUE(throws_errc(Errc::not_found, [&] { fs.stat(work_path("nothing-here")); }));
  EXPECT_TRUE(throws_errc(Errc::not_found, [&] { fs.read(work_path("nothing-here")); }));
}

TEST_P(Files, SymlinksAreFollowedForReading) {
  auto sandbox = create();
  make_work_dir(*sandbox);
  auto& fs = sandbox->fs();
  fs.write(work_path("real"), "through the link");
  fs.symlink("real", work_path("relative-link"));
  fs.symlink(work_path("real"), work_path("absolute-link"));
  EXPECT_EQ(fs.read(work_path("relative-link")), "through the link");
  EXPECT_EQ(fs.read(work_path("absolute-link")), "through the link");
  EXPECT_TRUE(throws_errc(Errc::already_exists, [&] { fs.symlink("x", work_path("real")); }));
}

TEST_P(Files, RemoveFilesAndTrees) {
  auto sandbox = create();
  auto& fs = sandbox->fs();
  std::string tree = work_path("tree");
  fs.mkdir(tree + "/sub/deeper", true);
  fs.write(tree + "/sub/deeper/file", "x");
  fs.write(tree + "/top", "y");

  fs.remove(tree + "/top");
  EXPECT_FALSE(fs.exists(tree + "/top"));
  EXPECT_THROW(fs.remove(tree), Error) << "a non-empty directory needs recursive";
  EXPECT_TRUE(fs.exists(tree + "/sub/deeper/file"));
  fs.remove(tree, true);
  EXPECT_FALSE(fs.exists(tree));
  EXPECT_TRUE(throws_errc(Errc::not_found, [&] { fs.remove(tree); }));
}

TEST_P(Files, RenameMovesAndReplaces) {
  auto sandbox = create();
  make_work_dir(*sandbox);
  auto& fs = sandbox->fs();
  fs.write(work_path("from"), "new content");
  fs.write(work_path("to"), "old content");
  fs.rename(work_path("from"), work_path("to"));
  EXPECT_FALSE(fs.exists(work_path("from")));
  EXPECT_EQ(fs.read(work_path("to")), "new content");
  fs.mkdir(work_path("dir"));
  fs.rename(work_path("dir"), work_path("moved-dir"));
  EXPECT_EQ(fs.stat(work_path("moved-dir")).type, FileType::directory);
  EXPECT_TRUE(throws_errc(Errc::not_found, [&] { fs.rename(work_path("gone"), work_path("x")); }));
}

// A FIFO made in the sandbox must not block the host: reading it is refused; writing to its
// path is refused or replaces it with a regular file (backends differ), without waiting for a
// reader either way.
TEST_P(Files, AFifoInTheSandboxIsNeitherReadNorWaitedFor) {
  auto sandbox = create();
  make_work_dir(*sandbox);
  auto& fs = sandbox->fs();
  ASSERT_EQ(run(*sandbox, cmd().make_fifo(work_path("fifo"))).exit_code, 0);
  EXPECT_TRUE(throws_errc(Errc::invalid_argument, [&] { fs.read(work_path("fifo")); }));
  try {
    fs.write(work_path("fifo"), "data");
    EXPECT_EQ(fs.stat(work_path("fifo")).type, FileType::regular) << "the write went nowhere";
    EXPECT_EQ(fs.read(work_path("fifo")), "data");
  } catch (const Error& error) {
    EXPECT_EQ(error.code(), Errc::invalid_argument) << error.what();
  }
  fs.symlink(work_path("fifo"), work_path("link-to-fifo"));
  if (fs.stat(work_path("fifo")).type != FileType::regular)
    EXPECT_TRUE(throws_errc(Errc::invalid_argument, [&] { fs.read(work_path("link-to-fifo")); }));
}

// The Fs sees what the sandbox's programs see on a tmpfs mounted in the sandbox — read_only_root's
// writable /tmp, and a tmpfs mount of the spec — not the directory beneath it (dockerd's archive
// API works beneath a container's own mounts, and with a read-only root refuses every write).
TEST_P(Files, FsWorksOnTmpfsMountsOfAReadOnlyRoot) {
  SandboxSpec spec = base_spec();
  spec.read_only_root = true;
  const auto& types = caps().mount_types;
  const bool tmpfs_mounts = std::find(types.begin(), types.end(), MountType::tmpfs) != types.end();
  if (tmpfs_mounts) spec.mounts.push_back(Mount{.type = MountType::tmpfs, .target = "/scratch"});
  auto sandbox = create(spec);
  auto& fs = sandbox->fs();

  std::vector<std::string> roots{"/tmp"};
  if (tmpfs_mounts) roots.push_back("/scratch");
  for (const std::string& root : roots) {
    SCOPED_TRACE(root);
    const std::string dir = root + "/hutch-tmpfs/sub";
    fs.mkdir(dir, true);
    EXPECT_EQ(fs.stat(dir).type, FileType::directory);
    fs.write(dir + "/data", "on the tmpfs\n", 0640);
    // What a program in the sandbox reads is what the Fs wrote.
    ExecResult seen = run(*sandbox, cmd().cat_file(dir + "/data"));
    EXPECT_EQ(seen.exit_code, 0) << seen.stderr_data;
    EXPECT_EQ(seen.stdout_data, "on the tmpfs\n");
    EXPECT_EQ(fs.read(dir + "/data"), "on the tmpfs\n");
    FileStat stat = fs.stat(dir + "/data");
    EXPECT_EQ(stat.type, FileType::regular);
    EXPECT_EQ(stat.size, 13u);
    EXPECT_EQ(stat.mode, 0640u);
    // And the Fs sees what a program made there.
    ASSERT_EQ(run(*sandbox, cmd().make_fifo(dir + "/fifo")).exit_code, 0);
    EXPECT_EQ(fs.stat(dir + "/fifo").type, FileType::other);
    EXPECT_EQ(names_of(fs.list(dir)), (std::vector<std::string>{"data", "fifo"}));
    fs.rename(dir + "/data", dir + "/moved");
    EXPECT_EQ(fs.read(dir + "/moved"), "on the tmpfs\n");
    EXPECT_TRUE(throws_errc(Errc::not_found, [&] { fs.stat(dir + "/data"); }));
    EXPECT_TRUE(throws_errc(Errc::not_found, [&] { fs.read(root + "/hutch-tmpfs/missing/file"); }));
    std::vector<std::string> tree;
    fs.read_tree(root + "/hutch-tmpfs",
                 [&](const TreeEntry& entry, const std::function<void(const ChunkSink&)>&) { tree.push_back(entry.path); });
    std::sort(tree.begin(), tree.end());
    EXPECT_EQ(tree, (std::vector<std::string>{"", "sub", "sub/fifo", "sub/moved"}));
    fs.remove(root + "/hutch-tmpfs", true);
    EXPECT_FALSE(fs.exists(root + "/hutch-tmpfs"));
  }
}

TEST_P(Files, RelativePathsAreInvalidArguments) {
  auto sandbox = create();
  auto& fs = sandbox->fs();
  auto refused = [&](const char* what, const std::function<void()>& call) {
    EXPECT_TRUE(throws_errc(Errc::invalid_argument, call)) << what;
  };
  refused("read", [&] { fs.read("relative/file"); });
  refused("write", [&] { fs.write("relative/file", "x"); });
  refused("mkdir", [&] { fs.mkdir("relative/dir", true); });
  refused("list", [&] { fs.list("relative"); });
  refused("stat", [&] { fs.stat("relative"); });
  refused("remove", [&] { fs.remove("relative", true); });
  refused("rename", [&] { fs.rename("relative", "/tmp/x"); });
  refused("symlink", [&] { fs.symlink("/tmp", "relative-link"); });
}

// A backend may refuse such a path or resolve it inside the sandbox (".." stops at its root);
// either way nothing may appear outside. The marker's name is unique, so finding it on the
// host means the write escaped.
TEST_P(Files, DotDotAndSymlinksStayInside) {
  auto sandbox = create();
  make_work_dir(*sandbox);
  auto& fs = sandbox->fs();
  std::string marker = "hutch-conformance-escape-" + std::to_string(std::random_device{}());
  std::filesystem::path host_marker = std::filesystem::temp_directory_path() / marker;
  std::string up;
  for (int i = 0; i < 32; ++i) up += "../";

  auto attempt = [&](const std::string& path) {
    try {
      fs.write(path, "escaped?");
    } catch (const Error&) {
      // Refusing is fine.
    }
    bool escaped = std::filesystem::exists(host_marker);
    std::error_code ec;
    std::filesystem::remove(host_marker, ec);
    return !escaped;
  };

  EXPECT_TRUE(attempt("/" + up + "tmp/" + marker)) << "'..' in the path reached the host";
  fs.symlink(up + "tmp", work_path("up-link"));
  EXPECT_TRUE(attempt(work_path("up-link/") + marker)) << "a relative symlink reached the host";
  fs.symlink("/tmp", work_path("abs-link"));
  EXPECT_TRUE(attempt(work_path("abs-link/") + marker))
      << "an absolute symlink was resolved on the host";
}

}  // namespace
}  // namespace hutch::conformance
