// Formats read from the daemon: the path-stat header and stats JSON. (The spec label is
// <hutch/spec_json.hpp>, tested in tests/unit/test_spec_json.cpp.)
#include "base64.hpp"
#include "docker_fs.hpp"
#include "docker_handle.hpp"

#include <hutch/error.hpp>

#include <gtest/gtest.h>

namespace hutch::docker {
namespace {

TEST(Base64, RoundTripsBothAlphabets) {
  for (const std::string& text : std::vector<std::string>{"", "a", "ab", "abc", "abcd", std::string("\xff\xfe\x00\x01", 4)}) {
    EXPECT_EQ(base64_decode(base64_encode(text, false)), text);
    EXPECT_EQ(base64_decode(base64_encode(text, true)), text);
  }
  EXPECT_EQ(base64_encode("\xfb\xff", false), "+/8=");
  EXPECT_EQ(base64_encode("\xfb\xff", true), "-_8=");
  EXPECT_THROW(base64_decode("a*b"), Error);
}

TEST(PathStat, DecodesGoFileModes) {
  auto header = [](const std::string& json) { return base64_encode(json, false); };
  auto dir = parse_path_stat(header(R"({"name":"tmp","size":4096,"mode":2148532735,"mtime":"2024-01-02T03:04:05.5Z","linkTarget":""})"));
  EXPECT_EQ(dir.type, FileType::directory);
  EXPECT_EQ(dir.mode, 01777u);  // ModeDir|ModeSticky|0777 = 1<<31 | 1<<20 | 0777
  EXPECT_EQ(std::chrono::system_clock::to_time_t(dir.mtime), 1704164645);
  auto link = parse_path_stat(header(R"({"name":"sh","size":7,"mode":134218239,"mtime":"2024-01-02T03:04:05+01:00","linkTarget":"busybox"})"));
  EXPECT_EQ(link.type, FileType::symlink);
  EXPECT_EQ(link.link_target, "busybox");
  EXPECT_EQ(std::chrono::system_clock::to_time_t(link.mtime), 1704164645 - 3600);
  auto file = parse_path_stat(header(R"({"name":"f","size":12,"mode":8389101,"mtime":"2024-01-02T03:04:05Z"})"));
  EXPECT_EQ(file.type, FileType::regular);
  EXPECT_EQ(file.size, 12u);
  EXPECT_EQ(file.mode, 04755u);  // ModeSetuid|0755
}

TEST(SandboxPaths, RefuseDotDot) {
  EXPECT_EQ(checked_sandbox_path("/a//b/./c"), "/a/b/c");
  for (const char* bad : {"/../etc/passwd", "/a/../../b", "/a/.."}) {
    try {
      checked_sandbox_path(bad);
      ADD_FAILURE() << bad << " was accepted";
    } catch (const Error& e) {
      EXPECT_EQ(e.code(), Errc::permission_denied) << bad;
    }
  }
  EXPECT_THROW(checked_sandbox_path("relative"), Error);
  EXPECT_EQ(checked_sandbox_path("/a/..b"), "/a/..b");
}

TEST(NumericOwner, ParsesUidAndGid) {
  EXPECT_EQ(numeric_owner("1000"), std::make_pair(1000u, 1000u));
  EXPECT_EQ(numeric_owner("1000:50"), std::make_pair(1000u, 50u));
  EXPECT_EQ(numeric_owner("nobody"), std::make_pair(0u, 0u));
  EXPECT_EQ(numeric_owner("1000:staff"), std::make_pair(0u, 0u));
  EXPECT_EQ(numeric_owner(""), std::make_pair(0u, 0u));
}

TEST(Stats, ComputesCpuPercentMemoryAndNetwork) {
  auto stats = stats_from_json(R"({
    "cpu_stats": {"cpu_usage": {"total_usage": 3000}, "system_cpu_usage": 20000, "online_cpus": 2},
    "precpu_stats": {"cpu_usage": {"total_usage": 1000}, "system_cpu_usage": 10000},
    "memory_stats": {"usage": 5000, "limit": 100000, "stats": {"total_inactive_file": 1000}},
    "pids_stats": {"current": 3},
    "networks": {"eth0": {"rx_bytes": 10, "tx_bytes": 20}, "eth1": {"rx_bytes": 1, "tx_bytes": 2}}})");
  EXPECT_DOUBLE_EQ(stats.cpu_percent, 40.0);
  EXPECT_EQ(stats.cpu_usage_ns, 3000u);
  EXPECT_EQ(stats.memory_bytes, 4000u);
  EXPECT_EQ(stats.memory_limit_bytes, 100000u);
  EXPECT_EQ(stats.pids, 3u);
  EXPECT_EQ(stats.net_rx_bytes, 11u);
  EXPECT_EQ(stats.net_tx_bytes, 22u);
  auto offline = stats_from_json(R"({"cpu_stats": {}, "precpu_stats": {}, "memory_stats": {}, "pids_stats": {}})");
  EXPECT_FALSE(offline.net_rx_bytes) << "no networks (network none) is reported as unknown";
}

}  // namespace
}  // namespace hutch::docker
