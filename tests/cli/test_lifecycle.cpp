// Sandboxes across separate hutch processes: create, exec, ls, inspect, cp, fork, snapshot,
// pause, stats, rm, prune.
#include "cli_fixture.hpp"

#include <sys/stat.h>

#include <algorithm>
#include <fstream>

namespace hutch::test {
namespace {

namespace fs = std::filesystem;
using LifecycleTest = HutchCliTest;

bool contains(const std::vector<std::string>& ids, const std::string& id) {
  return std::find(ids.begin(), ids.end(), id) != ids.end();
}

TEST_F(LifecycleTest, CreateExecListInspectRemoveAcrossProcesses) {
  const std::string id = create({"--label", "team=cli", "-e", "GREETING=hi", "--memory", "64m",
                                 "--pids", "32", "-w", "/work"});
  ASSERT_FALSE(id.empty());

  EXPECT_EQ(hutch({"exec", id, "printenv", "GREETING"}).out, "hi\n");
  EXPECT_TRUE(contains(listed_ids(), id));

  const HutchResult table = hutch({"ls"});
  EXPECT_EQ(table.exit_code, 0) << table.err;
  EXPECT_EQ(table.out.rfind("ID", 0), 0u) << table.out;
  EXPECT_NE(table.out.find(id), std::string::npos) << table.out;

  const HutchResult inspected = hutch({"inspect", id, "--json"});
  ASSERT_EQ(inspected.exit_code, 0) << inspected.err;
  const boost::json::value info = parse_json(inspected.out);
  ASSERT_TRUE(info.is_object()) << inspected.out;
  EXPECT_EQ(info.at("id").as_string(), id);
  EXPECT_EQ(info.at("backend").as_string(), "fake");
  EXPECT_EQ(info.at("state").as_string(), "running");
  EXPECT_EQ(info.at("labels").at("team").as_string(), "cli");
  const auto& spec = info.at("spec");
  EXPECT_EQ(spec.at("env").at("GREETING").as_string(), "hi");
  EXPECT_EQ(spec.at("limits").at("memory_bytes").to_number<std::uint64_t>(), 64u << 20);
  EXPECT_EQ(spec.at("limits").at("pids").to_number<std::uint32_t>(), 32u);
  EXPECT_EQ(spec.at("workdir").as_string(), "/work");

  const HutchResult text = hutch({"inspect", id});
  EXPECT_EQ(text.exit_code, 0) << text.err;
  EXPECT_NE(text.out.find("team=cli"), std::string::npos) << text.out;

  const HutchResult removed = hutch({"rm", id});
  EXPECT_EQ(removed.exit_code, 0) << removed.err;
  EXPECT_EQ(removed.out, id + "\n");
  EXPECT_FALSE(contains(listed_ids(), id));

  // Gone: rm names it as unknown, rm -f does not mind.
  expect_hutch_error(hutch({"rm", id}), {id});
  const HutchResult forced = hutch({"rm", "-f", id});
  EXPECT_EQ(forced.exit_code, 0) << forced.err;
  expect_hutch_error(hutch({"inspect", id}), {id});
}

TEST_F(LifecycleTest, CreateJsonIsAnObjectWithTheId) {
  const HutchResult result = hutch({"--json", "create"});
  ASSERT_EQ(result.exit_code, 0) << result.err;
  const boost::json::value created = parse_json(result.out);
  ASSERT_TRUE(created.is_object()) << result.out;
  const std::string id(created.at("id").as_string());
  EXPECT_TRUE(contains(listed_ids(), id));
}

TEST_F(LifecycleTest, CopyFilesAndDirectoriesBothWays) {
  const std::string id = create();
  ASSERT_FALSE(id.empty());

  // A file larger than one chunk, with bytes of every value.
  std::string payload;
  for (int i = 0; i < 700 * 1024; ++i) payload.push_back(static_cast<char>((i * 7 + i / 251) & 0xff));
  write_file(dir() / "payload.bin", payload);
  fs::permissions(dir() / "payload.bin", fs::perms(0750));

  HutchResult in = hutch({"cp", (dir() / "payload.bin").string(), id + ":/payload.bin"});
  ASSERT_EQ(in.exit_code, 0) << in.err;
  EXPECT_EQ(in.out, "");
  EXPECT_EQ(hutch({"exec", id, "cat", "/payload.bin"}).out, payload);

  HutchResult out = hutch({"cp", id + ":/payload.bin", (dir() / "back.bin").string()});
  ASSERT_EQ(out.exit_code, 0) << out.err;
  EXPECT_EQ(read_file(dir() / "back.bin"), payload);
  EXPECT_EQ(fs::status(dir() / "back.bin").permissions() & fs::perms::all, fs::perms(0750));

  // A tree, copied into an existing directory under its own name, and back out.
  fs::create_directories(dir() / "tree" / "sub");
  write_file(dir() / "tree" / "top.txt", "top\n");
  write_file(dir() / "tree" / "sub" / "deep.txt", "deep\n");
  fs::create_symlink("top.txt", dir() / "tree" / "link");
  in = hutch({"cp", (dir() / "tree").string(), id + ":/"});
  ASSERT_EQ(in.exit_code, 0) << in.err;
  EXPECT_EQ(hutch({"exec", id, "cat", "/tree/sub/deep.txt"}).out, "deep\n");

  fs::create_directory(dir() / "restored");
  out = hutch({"cp", id + ":/tree", (dir() / "restored").string()});
  ASSERT_EQ(out.exit_code, 0) << out.err;
  EXPECT_EQ(read_file(dir() / "restored" / "tree" / "top.txt"), "top\n");
  EXPECT_EQ(read_file(dir() / "restored" / "tree" / "sub" / "deep.txt"), "deep\n");
  ASSERT_TRUE(fs::is_symlink(dir() / "restored" / "tree" / "link"));
  EXPECT_EQ(fs::read_symlink(dir() / "restored" / "tree" / "link"), "top.txt");
}

TEST_F(LifecycleTest, CopyOutReplacesAHostSymlinkInsteadOfWritingThroughIt) {
  const std::string id = create();
  write_file(dir() / "from-sandbox", "sandbox data\n");
  ASSERT_EQ(hutch({"cp", (dir() / "from-sandbox").string(), id + ":/evil"}).exit_code, 0);

  write_file(dir() / "precious", "original\n");
  fs::create_directory(dir() / "out");
  fs::create_symlink(dir() / "precious", dir() / "out" / "evil");
  const HutchResult result = hutch({"cp", id + ":/evil", (dir() / "out").string()});
  ASSERT_EQ(result.exit_code, 0) << result.err;
  EXPECT_FALSE(fs::is_symlink(dir() / "out" / "evil"));
  EXPECT_EQ(read_file(dir() / "out" / "evil"), "sandbox data\n");
  EXPECT_EQ(read_file(dir() / "precious"), "original\n");
}

TEST_F(LifecycleTest, CopyOutNeverCreatesSetuidFilesOnTheHost) {
  const std::string id = create();
  write_file(dir() / "tool", "#!/bin/sh\n");
  fs::permissions(dir() / "tool", fs::perms(04755));
  ASSERT_EQ(hutch({"cp", (dir() / "tool").string(), id + ":/tool"}).exit_code, 0);
  // The fake keeps the mode it was given, so the sandbox's copy is setuid.
  ASSERT_EQ(fs::status(dir() / "state" / "fake" / "sandboxes" / id / "files" / "tool").permissions() &
                fs::perms::mask,
            fs::perms(04755));

  const HutchResult result = hutch({"cp", id + ":/tool", (dir() / "tool-back").string()});
  ASSERT_EQ(result.exit_code, 0) << result.err;
  EXPECT_EQ(fs::status(dir() / "tool-back").permissions() & fs::perms::mask, fs::perms(0755));
}

TEST_F(LifecycleTest, CopyOutKeepsTheHolesOfASparseFile) {
  const std::string id = create();
  // 64 MiB with 4 KiB of data in the middle, made sparse in the fake's own files.
  const fs::path inside = dir() / "state" / "fake" / "sandboxes" / id / "files" / "sparse";
  constexpr off_t kSize = 64 << 20, kDataAt = 32 << 20;
  const std::string data(4096, 'd');
  {
    std::ofstream file(inside, std::ios::binary);
    file.seekp(kDataAt);
    file.write(data.data(), static_cast<std::streamsize>(data.size()));
  }
  fs::resize_file(inside, kSize);

  const HutchResult out = hutch({"cp", id + ":/sparse", (dir() / "sparse-back").string()});
  ASSERT_EQ(out.exit_code, 0) << out.err;
  struct stat st {};
  ASSERT_EQ(::stat((dir() / "sparse-back").c_str(), &st), 0);
  EXPECT_EQ(st.st_size, kSize);
  EXPECT_LT(static_cast<std::uint64_t>(st.st_blocks) * 512, 1u << 20) << "the holes were written out as zeros";
  const std::string back = read_file(dir() / "sparse-back");
  EXPECT_EQ(back.substr(static_cast<std::size_t>(kDataAt), data.size()), data);
  EXPECT_EQ(back.find_first_not_of('\0'), static_cast<std::size_t>(kDataAt));
  EXPECT_EQ(back.find_last_not_of('\0'), static_cast<std::size_t>(kDataAt) + data.size() - 1);
}

TEST_F(LifecycleTest, CopyArgumentErrors) {
  const std::string id = create();
  expect_hutch_error(hutch({"cp", "a", "b"}), {"ID:/path"});
  expect_hutch_error(hutch({"cp", id + ":/a", id + ":/b"}), {"ID:/path"});
  expect_hutch_error(hutch({"cp", id + ":relative", (dir() / "x").string()}), {"absolute"});
  expect_hutch_error(hutch({"cp", (dir() / "missing").string(), id + ":/x"}), {"missing"});
  expect_hutch_error(hutch({"cp", id + ":/no/such/file", (dir() / "x").string()}), {"/no/such/file"});
}

TEST_F(LifecycleTest, ForkCopiesTheFilesystemIntoANewSandbox) {
  const std::string id = create();
  write_file(dir() / "note.txt", "before fork\n");
  ASSERT_EQ(hutch({"cp", (dir() / "note.txt").string(), id + ":/note.txt"}).exit_code, 0);

  const HutchResult forked = hutch({"fork", id});
  ASSERT_EQ(forked.exit_code, 0) << forked.err;
  std::string fork_id = forked.out;
  ASSERT_FALSE(fork_id.empty());
  fork_id.pop_back();
  EXPECT_NE(fork_id, id);
  EXPECT_TRUE(contains(listed_ids(), fork_id));
  EXPECT_EQ(hutch({"exec", fork_id, "cat", "/note.txt"}).out, "before fork\n");
}

TEST_F(LifecycleTest, SnapshotPauseUnpauseStats) {
  const std::string id = create();
  const HutchResult snapshot = hutch({"snapshot", id, "my-label"});
  ASSERT_EQ(snapshot.exit_code, 0) << snapshot.err;
  EXPECT_FALSE(snapshot.out.empty());
  EXPECT_EQ(std::count(snapshot.out.begin(), snapshot.out.end(), '\n'), 1) << snapshot.out;

  EXPECT_EQ(hutch({"pause", id}).exit_code, 0);
  const HutchResult paused = hutch({"--json", "inspect", id});
  EXPECT_EQ(parse_json(paused.out).at("state").as_string(), "paused") << paused.out;
  EXPECT_EQ(hutch({"unpause", id}).exit_code, 0);
  EXPECT_EQ(parse_json(hutch({"--json", "inspect", id}).out).at("state").as_string(), "running");

  const HutchResult stats = hutch({"stats", id, "--json"});
  ASSERT_EQ(stats.exit_code, 0) << stats.err;
  const boost::json::value document = parse_json(stats.out);
  ASSERT_TRUE(document.is_object()) << stats.out;
  EXPECT_TRUE(document.as_object().contains("memory_bytes"));
  EXPECT_TRUE(document.as_object().contains("pids"));
  EXPECT_NE(hutch({"stats", id}).out.find("memory:"), std::string::npos);
}

TEST_F(LifecycleTest, RemoveSeveralReportsTheUnknownOneAndRemovesTheRest) {
  const std::string first = create();
  const std::string second = create();
  const HutchResult result = hutch({"rm", first, "no-such-sandbox", second});
  EXPECT_EQ(result.exit_code, 125);
  EXPECT_EQ(result.out, first + "\n" + second + "\n");
  ASSERT_EQ(result.err_lines().size(), 1u) << result.err;
  EXPECT_NE(result.err.find("no-such-sandbox"), std::string::npos) << result.err;
  EXPECT_TRUE(listed_ids().empty());
}

TEST_F(LifecycleTest, ListFiltersByLabel) {
  const std::string tagged = create({"--label", "purpose=ci"});
  const std::string other = create({"--label", "purpose=dev"});
  const HutchResult result = hutch({"--json", "ls", "--label", "purpose=ci"});
  ASSERT_EQ(result.exit_code, 0) << result.err;
  const boost::json::value listing = parse_json(result.out);
  ASSERT_TRUE(listing.is_array()) << result.out;
  ASSERT_EQ(listing.as_array().size(), 1u) << result.out;
  EXPECT_EQ(listing.as_array()[0].at("id").as_string(), tagged);
  EXPECT_TRUE(contains(listed_ids(), other));
}

TEST_F(LifecycleTest, PruneAllRemovesEverySandboxAndPrintsTheIds) {
  const std::string first = create();
  const std::string second = create();
  const HutchResult pruned = hutch({"prune", "--all"});
  ASSERT_EQ(pruned.exit_code, 0) << pruned.err;
  EXPECT_NE(pruned.out.find(first + "\n"), std::string::npos) << pruned.out;
  EXPECT_NE(pruned.out.find(second + "\n"), std::string::npos) << pruned.out;
  EXPECT_TRUE(listed_ids().empty());
}

TEST_F(LifecycleTest, LsJsonOfAnEmptyBackendIsAnEmptyArray) {
  const HutchResult result = hutch({"ls", "--json"});
  ASSERT_EQ(result.exit_code, 0) << result.err;
  EXPECT_EQ(result.out, "[]\n");
}

}  // namespace
}  // namespace hutch::test
