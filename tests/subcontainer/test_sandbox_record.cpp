// The on-disk state of a sandbox: round trip, atomic replace, and clear errors.
#include "sandbox_record.hpp"
#include "temp_dir.hpp"

#include <hutch/error.hpp>

#include <gtest/gtest.h>

#include <unistd.h>

#include <filesystem>
#include <fstream>

using namespace hutch::subcontainer;
namespace fs = std::filesystem;

using hutch::test::TempDir;

TEST(SubcontainerRecord, SavesAndLoadsEveryField) {
  const TempDir dir("hutch-record-");
  SandboxRecord record;
  record.id = "0123456789ab";
  record.spec.image = "host";
  record.spec.env = {{"A", "1"}};
  record.spec.limits.memory_bytes = 64u << 20;
  record.spec.labels = {{"team", "x"}};
  record.image_ref = "host";
  record.image_config.env = {"PATH=/bin"};
  record.image_config.user = "app";
  record.image_config.workdir = "/srv";
  record.leader_pid = 1234;
  record.leader_start = 5678;
  record.owner = "boot:1:2";
  record.created_ms = 1700000000000;
  record.cgroup_version = 1;
  record.cgroup_dirs = {"/sys/fs/cgroup/memory/hutch/0123456789ab"};
  record.root_uid = record.root_gid = 100000;
  record.id_count = 65536;
  auto file = dir / "state.json";
  save_record(file, record);
  EXPECT_FALSE(fs::exists(dir / "state.json.tmp")) << "the temporary file is renamed away";
  auto loaded = load_record(file, record.id);
  EXPECT_EQ(loaded.spec, record.spec);
  EXPECT_EQ(loaded.image_config.env, record.image_config.env);
  EXPECT_EQ(loaded.image_config.user, "app");
  EXPECT_EQ(loaded.image_config.workdir, "/srv");
  EXPECT_EQ(loaded.leader_pid, 1234);
  EXPECT_EQ(loaded.leader_start, 5678u);
  EXPECT_EQ(loaded.owner, "boot:1:2");
  EXPECT_EQ(loaded.created_ms, record.created_ms);
  EXPECT_EQ(loaded.cgroup_dirs, record.cgroup_dirs);
  EXPECT_EQ(loaded.id_count, 65536u);
}

TEST(SubcontainerRecord, MissingIsNotFoundAndDamagedIsBackendError) {
  const TempDir dir("hutch-record-");
  try {
    load_record(dir / "state.json", "abc");
    FAIL() << "a missing record loaded";
  } catch (const hutch::Error& e) {
    EXPECT_EQ(e.code(), hutch::Errc::not_found);
    EXPECT_NE(std::string(e.what()).find("abc"), std::string::npos) << e.what();
  }
  std::ofstream(dir / "state.json") << "{not json";
  try {
    load_record(dir / "state.json", "abc");
    FAIL() << "a damaged record loaded";
  } catch (const hutch::Error& e) {
    EXPECT_EQ(e.code(), hutch::Errc::backend);
    EXPECT_NE(std::string(e.what()).find("hutch rm abc"), std::string::npos) << e.what();
  }
}

TEST(SubcontainerRecord, LeaderAliveChecksPidAndStartTime) {
  SandboxRecord record;
  record.leader_pid = ::getpid();
  record.leader_start = process_start_time(::getpid());
  ASSERT_NE(record.leader_start, 0u);
  EXPECT_TRUE(leader_alive(record));
  record.leader_start += 1;  // same pid, another process: reused pid
  EXPECT_FALSE(leader_alive(record));
}
