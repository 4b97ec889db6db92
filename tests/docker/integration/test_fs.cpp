#include "docker_fixture.hpp"
#include "engine/query.hpp"

#include <chrono>
#include <ctime>
#include <functional>
#include <map>
#include <thread>

namespace hutch::docker::test {
namespace {

TEST_F(DockerTest, FsWriteReadStatList) {
  auto sandbox = create();
  Fs& fs = sandbox->fs();
  fs.write("/tmp/hello.txt", "hello world", 0640);
  EXPECT_EQ(fs.read("/tmp/hello.txt"), "hello world");
  EXPECT_EQ(sh(*sandbox, "cat /tmp/hello.txt; stat -c %a /tmp/hello.txt").stdout_data, "hello world640\n");
  auto info = fs.stat("/tmp/hello.txt");
  EXPECT_EQ(info.type, FileType::regular);
  EXPECT_EQ(info.size, 11u);
  EXPECT_EQ(info.mode, 0640u);
  EXPECT_EQ(fs.stat("/tmp").type, FileType::directory);
  EXPECT_EQ(fs.stat("/tmp").mode, 01777u);

  fs.mkdir("/tmp/a/b/c", true);
  fs.mkdir("/tmp/a/b/c", true);  // exists: fine with parents
  EXPECT_EQ(fs.stat("/tmp").mode, 01777u) << "mkdir -p must not touch existing parents";
  fs.write("/tmp/a/b/file", "x");
  auto entries = fs.list("/tmp/a/b");
  ASSERT_EQ(entries.size(), 2u);
  EXPECT_EQ(entries[0].name, "c");
  EXPECT_EQ(entries[0].stat.type, FileType::directory);
  EXPECT_EQ(entries[1].name, "file");
  EXPECT_EQ(entries[1].stat.size, 1u);
  auto root = fs.list("/");
  EXPECT_TRUE(std::any_of(root.begin(), root.end(), [](const DirEntry& e) { return e.name == "bin"; }));
}

TEST_F(DockerTest, FsStreamsLargeFiles) {
  auto sandbox = create();
  Fs& fs = sandbox->fs();
  const std::size_t chunk_size = 256 * 1024;
  const int chunks = 24;  // 6 MiB
  std::string chunk(chunk_size, 'a');
  int produced = 0;
  fs.write_stream("/tmp/big", [&]() -> std::string_view {
    if (produced == chunks) return {};
    chunk[0] = static_cast<char>('A' + produced++);
    return chunk;
  });
  EXPECT_EQ(sh(*sandbox, "wc -c < /tmp/big").stdout_data, std::to_string(chunk_size * chunks) + "\n");
  std::size_t total = 0;
  std::size_t pieces = 0;
  std::string firsts;
  fs.read_stream("/tmp/big", [&](std::string_view piece) {
    for (std::size_t i = 0; i < piece.size(); ++i)
      if ((total + i) % chunk_size == 0) firsts += piece[i];
    total += piece.size();
    ++pieces;
    return true;
  });
  EXPECT_EQ(total, chunk_size * chunks);
  EXPECT_GT(pieces, 1u) << "read_stream delivered the whole file at once";
  EXPECT_EQ(firsts, "ABCDEFGHIJKLMNOPQRSTUVWX");
}

// The Docker events the daemon recorded for `container` of type `action` ("exec_create")
// from `since` (unix seconds) until now.
std::size_t count_events(const std::string& container, const std::string& action, std::time_t since) {
  ClientOptions options;
  options.endpoint = choose_endpoint({});
  EngineClient client(options);
  Request request;
  std::string filters = R"({"container":[")" + container + R"("],"event":[")" + action + R"("]})";
  request.target = "/events?since=" + std::to_string(since) + "&until=" + std::to_string(std::time(nullptr)) +
                   "&filters=" + percent_encode(filters);
  std::string body = client.call(request).body;
  std::size_t count = 0;
  for (std::size_t at = body.find("\"status\""); at != std::string::npos; at = body.find("\"status\"", at + 1)) ++count;
  return count;
}

// `hutch cp` of a directory out of a docker sandbox walks it with read_tree: one archive of the
// whole tree, where list() at every level fetched each subtree again (depth x size).
TEST_F(DockerTest, ReadTreeFetchesOneArchiveForANestedTree) {
  auto sandbox = create();
  Fs& fs = sandbox->fs();
  ASSERT_EQ(sh(*sandbox, "mkdir -p /tmp/nest/a/b/c/d && for d in /tmp/nest /tmp/nest/a /tmp/nest/a/b /tmp/nest/a/b/c "
                         "/tmp/nest/a/b/c/d; do echo data > $d/f; done").exit_code, 0);
  const std::time_t since = std::time(nullptr);
  std::this_thread::sleep_for(std::chrono::milliseconds(1100));  // events have a one-second grain
  std::size_t files = 0;
  fs.read_tree("/tmp/nest", [&](const TreeEntry& entry, const std::function<void(const ChunkSink&)>& read_data) {
    std::string data;
    read_data([&](std::string_view chunk) {
      data.append(chunk);
      return true;
    });
    if (entry.stat.type == FileType::regular) {
      ++files;
      EXPECT_EQ(data, "data\n") << entry.path;
    }
  });
  EXPECT_EQ(files, 5u);
  std::this_thread::sleep_for(std::chrono::milliseconds(1100));
  // Podman reports no archive-path events: the count is checked on dockerd.
  if (backend_->context()->client->engine().kind == EngineIdentity::Kind::docker)
    EXPECT_EQ(count_events(sandbox->id(), "archive-path", since), 1u) << "the tree was fetched more than once";

  // A second name of a file comes as a tar hardlink without data: its content is still there.
  ASSERT_EQ(sh(*sandbox, "ln /tmp/nest/a/f /tmp/nest/a/b/hard").exit_code, 0);
  std::map<std::string, std::string> content;
  fs.read_tree("/tmp/nest/a", [&](const TreeEntry& entry, const std::function<void(const ChunkSink&)>& read_data) {
    read_data([&](std::string_view chunk) {
      content[entry.path].append(chunk);
      return true;
    });
  });
  EXPECT_EQ(content["f"], "data\n");
  EXPECT_EQ(content["b/hard"], "data\n");
}

TEST_P(DockerBothPathsTest, FsSymlinkRenameRemove) {
  std::time_t since = std::time(nullptr) - 1;
  auto sandbox = create();
  Fs& fs = sandbox->fs();
  fs.write("/tmp/target", "through the link");
  fs.symlink("/tmp/target", "/tmp/link");
  auto link = fs.stat("/tmp/link");
  EXPECT_EQ(link.type, FileType::symlink);
  EXPECT_EQ(link.link_target, "/tmp/target");
  EXPECT_EQ(fs.read("/tmp/link"), "through the link");
  fs.symlink("target", "/tmp/relative-link");
  EXPECT_EQ(fs.read("/tmp/relative-link"), "through the link");
  EXPECT_THROW(fs.symlink("x", "/tmp/link"), Error);

  fs.rename("/tmp/target", "/tmp/renamed");
  EXPECT_FALSE(fs.exists("/tmp/target"));
  EXPECT_EQ(fs.read("/tmp/renamed"), "through the link");

  fs.mkdir("/tmp/tree/sub", true);
  fs.write("/tmp/tree/sub/f", "f");
  try {
    fs.remove("/tmp/tree");
    FAIL() << "a non-empty directory was removed without recursive";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), Errc::io) << e.what();
  }
  fs.remove("/tmp/tree", true);
  EXPECT_FALSE(fs.exists("/tmp/tree"));
  fs.remove("/tmp/renamed");
  EXPECT_FALSE(fs.exists("/tmp/renamed"));

  // Paths are argv entries after "--", never shell text: a leading dash, spaces and shell
  // syntax are names like any other.
  const std::string odd = "/tmp/-rf $(touch hutch-injected); x";
  fs.write(odd, "odd");
  fs.symlink(odd, odd + ".link");
  EXPECT_EQ(fs.read(odd + ".link"), "odd");
  fs.rename(odd, odd + ".moved");
  EXPECT_EQ(fs.read(odd + ".moved"), "odd");
  fs.remove(odd + ".moved");
  fs.remove(odd + ".link");
  EXPECT_FALSE(fs.exists(odd + ".moved"));
  for (const char* cwd : {"/", "/workspace/", "/tmp/"}) EXPECT_FALSE(fs.exists(std::string(cwd) + "hutch-injected"));

  // With the agent, the tools run through it: the daemon saw no exec at all. (Podman reports
  // no exec events, so there this could not tell.)
  if (backend_->context()->client->engine().kind != EngineIdentity::Kind::docker) return;
  if (GetParam() == AgentMode::on) {
    std::this_thread::sleep_for(std::chrono::seconds(1));  // `until` has a one-second grain
    EXPECT_EQ(count_events(sandbox->id(), "exec_create", since), 0u);
  } else {
    EXPECT_GT(count_events(sandbox->id(), "exec_create", since), 0u) << "the events check sees execs";
  }
}

TEST_F(DockerTest, FsWritesBelongToANumericSandboxUser) {
  auto spec = base_spec();
  spec.user = "1000:1000";
  auto sandbox = create(spec);
  sandbox->fs().mkdir("/tmp/mine/sub", true);
  sandbox->fs().write("/tmp/mine/sub/file", "x");
  auto result = sh(*sandbox, "stat -c %u:%g /tmp/mine /tmp/mine/sub/file && echo more >> /tmp/mine/sub/file");
  EXPECT_EQ(result.stdout_data, "1000:1000\n1000:1000\n") << result.stderr_data;
  EXPECT_EQ(result.exit_code, 0) << "the sandbox user cannot change a file written for it";
}

TEST_F(DockerTest, FsErrors) {
  auto sandbox = create();
  Fs& fs = sandbox->fs();
  auto expect_code = [](Errc code, const std::function<void()>& call, const char* what) {
    try {
      call();
      ADD_FAILURE() << what << ": no error";
    } catch (const Error& e) {
      EXPECT_EQ(e.code(), code) << what << ": " << e.what();
    }
  };
  expect_code(Errc::not_found, [&] { fs.read("/no/such/file"); }, "read missing");
  expect_code(Errc::not_found, [&] { fs.stat("/no/such/file"); }, "stat missing");
  expect_code(Errc::not_found, [&] { fs.write("/no/such/dir/file", "x"); }, "write without parent");
  expect_code(Errc::not_found, [&] { fs.mkdir("/no/such/dir"); }, "mkdir without parents");
  expect_code(Errc::not_found, [&] { fs.remove("/no/such/file"); }, "remove missing");
  expect_code(Errc::already_exists, [&] { fs.mkdir("/tmp"); }, "mkdir existing");
  expect_code(Errc::permission_denied, [&] { fs.read("/tmp/../../etc/passwd"); }, "dot-dot read");
  expect_code(Errc::permission_denied, [&] { fs.write("/../x", "x"); }, "dot-dot write");
  expect_code(Errc::invalid_argument, [&] { fs.read("relative"); }, "relative path");
  expect_code(Errc::invalid_argument, [&] { fs.read("/tmp"); }, "read a directory");
  EXPECT_FALSE(fs.exists("/no/such/file"));
  // An absolute symlink stays inside the container: it reads the container's file.
  fs.symlink("/etc/passwd", "/tmp/passwd-link");
  EXPECT_NE(fs.read("/tmp/passwd-link").find("hutchuser"), std::string::npos);
  sandbox->destroy();
  expect_code(Errc::state, [&] { fs.stat("/tmp"); }, "after destroy");
}

}  // namespace
}  // namespace hutch::docker::test
