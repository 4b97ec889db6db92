// Issue 14: Fs::write with parents, SandboxSpec::files staged before create returns,
// max_file_bytes for Fs writes, the /workspace of SandboxSpec::workspace, and Handle::set_env
// and SandboxBackend::volumes / remove_volume where capabilities() says so.
#include "fixture.hpp"

#include <hutch/sandbox_files.hpp>

#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <fstream>

namespace hutch::conformance {
namespace {

HUTCH_CONFORMANCE_SUITE(FilesAndEnv);

std::string trimmed(std::string text) {
  while (!text.empty() && (text.back() == '\n' || text.back() == '\r')) text.pop_back();
  return text;
}

TEST_P(FilesAndEnv, WriteWithParentsCreatesMissingDirectories) {
  auto sandbox = create();
  make_work_dir(*sandbox);
  auto& fs = sandbox->fs();
  const std::string deep = work_path("a/b/c/file");
  EXPECT_TRUE(throws_errc(Errc::not_found, [&] { fs.write(deep, "x"); })) << "without parents the write must fail";
  fs.write(deep, "deep content", WriteOptions{.mode = 0600, .parents = true});
  EXPECT_EQ(fs.read(deep), "deep content");
  EXPECT_EQ(fs.stat(deep).mode, 0600u);
  EXPECT_EQ(fs.stat(work_path("a/b")).type, FileType::directory);
  // Existing parents are fine, and a top-level file needs none.
  fs.write(work_path("a/other"), "y", WriteOptions{.parents = true});
  EXPECT_EQ(fs.read(work_path("a/other")), "y");

  ExecResult result = run(*sandbox, cmd().cat_file(deep));
  EXPECT_EQ(result.stdout_data, "deep content") << result.stderr_data;
}

TEST_P(FilesAndEnv, FsWritesBeyondMaxFileBytesAreRefused) {
  SandboxSpec spec = base_spec();
  spec.max_file_bytes = 64 * 1024;
  auto sandbox = create(spec);
  make_work_dir(*sandbox);
  sandbox->fs().write(work_path("small"), std::string(64 * 1024, 'x'));
  EXPECT_EQ(sandbox->fs().stat(work_path("small")).size, 64u * 1024);
  try {
    sandbox->fs().write(work_path("large"), std::string(64 * 1024 + 1, 'x'));
    ADD_FAILURE() << "an Fs write beyond max_file_bytes was accepted";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), Errc::invalid_argument) << e.what();
    EXPECT_NE(std::string(e.what()).find("max_file_bytes"), std::string::npos) << e.what();
  }
}

TEST_P(FilesAndEnv, AManifestOfAHundredFilesIsThereForTheFirstCommand) {
  // One file comes from the host, streamed by the creating process.
  char host_path[] = "/tmp/hutch-conformance-source-XXXXXX";
  const int fd = ::mkstemp(host_path);
  ASSERT_GE(fd, 0);
  const std::string host_content(300 * 1024, 'h');
  ASSERT_EQ(::write(fd, host_content.data(), host_content.size()), static_cast<ssize_t>(host_content.size()));
  ::close(fd);

  SandboxSpec spec = base_spec();
  Argv cat = cmd().cat_file("");
  cat.pop_back();
  std::string expected;
  for (int i = 0; i < 100; ++i) {
    SandboxFile file;
    file.path = std::string(kWorkDir) + "-manifest/dir" + std::to_string(i % 10) + "/file" + std::to_string(i);
    file.content = "content of file " + std::to_string(i) + "\n";
    file.mode = i == 7 ? 0600 : 0644;
    expected += file.content;
    cat.push_back(file.path);
    spec.files.push_back(std::move(file));
  }
  SandboxFile from_host;
  from_host.path = std::string(kWorkDir) + "-manifest/from-host/big";
  from_host.source = host_path;
  spec.files.push_back(from_host);

  auto sandbox = create(spec);
  ::unlink(host_path);
  // The very first command: nothing ran before it that could have waited for the files.
  ExecResult result = run(*sandbox, cat);
  EXPECT_EQ(result.exit_code, 0) << result.stderr_data;
  EXPECT_EQ(result.stdout_data, expected);
  EXPECT_EQ(sandbox->fs().read(from_host.path), host_content);
  EXPECT_EQ(sandbox->fs().stat(spec.files[7].path).mode, 0600u);
  // The recorded spec keeps the manifest's paths, not its contents.
  const SandboxSpec recorded = sandbox->spec();
  ASSERT_EQ(recorded.files.size(), spec.files.size());
  EXPECT_EQ(recorded.files[3].path, spec.files[3].path);
  EXPECT_TRUE(recorded.files[3].content.empty());
}

TEST_P(FilesAndEnv, AManifestFileWithAnOwnerBelongsToIt) {
  if (cmd().flavour() == Flavour::fake) GTEST_SKIP() << "the fake's commands have no chown, which stage_files runs";
  SandboxSpec spec = base_spec();
  spec.files.push_back(SandboxFile{.path = "/srv/owned/key", .content = "k", .mode = 0600, .owner = "1000:1001"});
  spec.files.push_back(SandboxFile{.path = "/srv/root-owned", .content = "r"});
  std::shared_ptr<Handle> sandbox;
  try {
    sandbox = create(spec);
  } catch (const Error& e) {
    // A backend may refuse owners (docker: no CAP_CHOWN), but then before making anything,
    // naming the field.
    ASSERT_EQ(e.code(), Errc::unsupported) << e.what();
    EXPECT_NE(std::string(e.what()).find("files[0].owner"), std::string::npos) << e.what();
    EXPECT_TRUE(backend().list(test_filter()).empty()) << "a refused create must leave nothing";
    GTEST_SKIP() << "backend refuses file owners: " << e.what();
  }
  const FileStat owned = sandbox->fs().stat("/srv/owned/key");
  EXPECT_EQ(owned.uid, 1000u);
  EXPECT_EQ(owned.gid, 1001u);
  EXPECT_EQ(owned.mode, 0600u);
  EXPECT_EQ(sandbox->fs().stat("/srv/root-owned").uid, 0u);
  // Its owner can read it; another user cannot.
  ExecRequest as_owner = request(cmd().cat_file("/srv/owned/key"));
  as_owner.user = "1000";
  EXPECT_EQ(sandbox->exec(as_owner).stdout_data, "k");
  as_owner.user = "1002";
  EXPECT_NE(sandbox->exec(as_owner).exit_code, 0);
}

TEST_P(FilesAndEnv, ABadManifestFailsTheCreateAndLeavesNothing) {
  SandboxSpec relative = base_spec();
  relative.files.push_back(SandboxFile{.path = "relative/path", .content = "x"});
  EXPECT_TRUE(throws_errc(Errc::invalid_argument, [&] { create(relative); }));

  SandboxSpec missing_source = base_spec();
  missing_source.files.push_back(SandboxFile{.path = "/tmp/x", .source = "/nonexistent/hutch-conformance-source"});
  EXPECT_TRUE(throws_errc(Errc::not_found, [&] { create(missing_source); }));
  EXPECT_TRUE(backend().list(test_filter()).empty()) << "a failed create must remove its sandbox";
}

TEST_P(FilesAndEnv, SetEnvReachesLaterCommandsAndOtherHandles) {
  SandboxSpec spec = base_spec();
  spec.env["HUTCH_CONFORMANCE_GONE"] = "from the spec";
  auto sandbox = create(spec);
  if (!caps().set_env) {
    EXPECT_TRUE(throws_errc(Errc::unsupported, [&] { sandbox->set_env({{"A", "1"}}, {}); }));
    return;
  }
  EXPECT_TRUE(throws_errc(Errc::invalid_argument, [&] { sandbox->set_env({{"A=B", "1"}}, {}); }));
  EXPECT_TRUE(throws_errc(Errc::invalid_argument, [&] { sandbox->set_env({{"A", "1"}}, {"A"}); }));

  sandbox->set_env({{"HUTCH_CONFORMANCE_NEW", "set later"}}, {"HUTCH_CONFORMANCE_GONE"});
  EXPECT_EQ(trimmed(run(*sandbox, cmd().print_env("HUTCH_CONFORMANCE_NEW")).stdout_data), "set later");
  EXPECT_EQ(trimmed(run(*sandbox, cmd().print_env("HUTCH_CONFORMANCE_GONE")).stdout_data), "");
  EXPECT_EQ(sandbox->spec().env.count("HUTCH_CONFORMANCE_GONE"), 0u);
  EXPECT_EQ(sandbox->spec().env.at("HUTCH_CONFORMANCE_NEW"), "set later");

  // A handle from resume (as another process would have) sees it, and a request's env wins.
  auto again = track(backend().resume(sandbox->id()));
  EXPECT_EQ(trimmed(run(*again, cmd().print_env("HUTCH_CONFORMANCE_NEW")).stdout_data), "set later");
  ExecRequest overridden = request(cmd().print_env("HUTCH_CONFORMANCE_NEW"));
  overridden.env["HUTCH_CONFORMANCE_NEW"] = "from the request";
  EXPECT_EQ(trimmed(again->exec(overridden).stdout_data), "from the request");

  // Setting it back after an unset works too.
  again->set_env({{"HUTCH_CONFORMANCE_GONE", "back"}}, {});
  EXPECT_EQ(trimmed(run(*sandbox, cmd().print_env("HUTCH_CONFORMANCE_GONE")).stdout_data), "back");
}

TEST_P(FilesAndEnv, TheEphemeralWorkspaceIsTheWorkingDirectoryUnlessNone) {
  auto sandbox = create();
  EXPECT_EQ(sandbox->fs().stat(kWorkspaceTarget).type, FileType::directory);
  sandbox->fs().write(std::string(kWorkspaceTarget) + "/f", "in the workspace");
  // The fallback when neither the request, the spec nor the image names a directory (the
  // suite's images name none).
  EXPECT_EQ(run(*sandbox, cmd().print_cwd()).stdout_data, std::string(kWorkspaceTarget) + "\n");
  EXPECT_EQ(run(*sandbox, cmd().cat_file(std::string(kWorkspaceTarget) + "/f")).stdout_data, "in the workspace");

  SandboxSpec none = base_spec();
  none.workspace = kWorkspaceNone;
  auto bare = create(none);
  EXPECT_FALSE(bare->fs().exists(kWorkspaceTarget));
  EXPECT_EQ(run(*bare, cmd().print_cwd()).stdout_data, "/\n");
}

// Removes the named volume at the end of a test whatever happened (errors ignored: the test
// has already failed on them, or it is gone).
struct VolumeRemover {
  SandboxBackend& backend;
  std::string name;
  ~VolumeRemover() {
    try {
      backend.remove_volume(name);
    } catch (const Error&) {
    }
  }
};

TEST_P(FilesAndEnv, APersistentWorkspaceOutlivesItsSandboxAndIsListedAndRemoved) {
  const std::string name = "hutch-conformance-ws-" + test_labels().at("hutch-conformance-run");
  SandboxSpec spec = base_spec();
  spec.workspace = name;
  if (!caps().volumes) {
    EXPECT_TRUE(throws_errc(Errc::unsupported, [&] { backend().volumes(); }));
    EXPECT_TRUE(throws_errc(Errc::unsupported, [&] { backend().remove_volume(name); }));
    EXPECT_TRUE(throws_errc(Errc::unsupported, [&] { create(spec); })) << "a named workspace it cannot keep";
    return;
  }
  auto find = [&]() -> std::optional<VolumeInfo> {
    for (const auto& volume : backend().volumes())
      if (volume.name == name) return volume;
    return std::nullopt;
  };
  VolumeRemover remover{backend(), name};
  auto first = create(spec);
  first->fs().write(std::string(kWorkspaceTarget) + "/data", "kept");
  auto listed = find();
  ASSERT_TRUE(listed) << "volumes() does not list workspace " << name;
  EXPECT_EQ(listed->used_by, std::vector<std::string>{first->id()});
  EXPECT_TRUE(throws_errc(Errc::state, [&] { backend().remove_volume(name); })) << "removed while in use";

  first->destroy();
  auto second = create(spec);
  EXPECT_EQ(run(*second, cmd().cat_file(std::string(kWorkspaceTarget) + "/data")).stdout_data, "kept");
  second->destroy();

  listed = find();
  ASSERT_TRUE(listed) << "the workspace went with its sandboxes";
  EXPECT_TRUE(listed->used_by.empty());
  backend().remove_volume(name);
  EXPECT_FALSE(find());
  EXPECT_TRUE(throws_errc(Errc::not_found, [&] { backend().remove_volume(name); }));
  EXPECT_TRUE(throws_errc(Errc::invalid_argument, [&] { backend().remove_volume("../escape"); }));
}

}  // namespace
}  // namespace hutch::conformance
