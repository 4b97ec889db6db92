// containers.conf's default_ulimits, which hutch sends along with fsize on Podman.
#include "podman_default_ulimits.hpp"

#include <hutch/error.hpp>

#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>

namespace hutch::docker {
namespace {

class ConfFiles : public ::testing::Test {
 protected:
  void SetUp() override {
    char pattern[] = "/tmp/hutch-containers-conf-XXXXXX";
    ASSERT_NE(::mkdtemp(pattern), nullptr);
    dir_ = pattern;
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  std::filesystem::path write(const std::string& name, const std::string& text) {
    std::ofstream(dir_ / name) << text;
    return dir_ / name;
  }
  std::filesystem::path dir_;
};

TEST(PodmanUlimit, ParsesSoftHardAndSingleValues) {
  EXPECT_EQ(parse_podman_ulimit("nofile=4096:8192"), (Ulimit{"nofile", 4096, 8192}));
  EXPECT_EQ(parse_podman_ulimit("nproc=100"), (Ulimit{"nproc", 100, 100}));
  EXPECT_EQ(parse_podman_ulimit("core=-1:-1"), (Ulimit{"core", -1, -1}));
  for (const char* bad : {"nofile", "=1:2", "nofile=", "nofile=a:1", "nofile=1:", "nofile=-2", "nofile=1:2:3"}) {
    try {
      parse_podman_ulimit(bad);
      ADD_FAILURE() << bad << " was accepted";
    } catch (const Error& e) {
      EXPECT_EQ(e.code(), Errc::invalid_argument) << bad;
      EXPECT_NE(std::string(e.what()).find(bad), std::string::npos) << e.what();
    }
  }
}

TEST_F(ConfFiles, TheLastFileThatSetsThemWinsAndOthersAreSkipped) {
  const auto system = write("a.conf", "[containers]\ndefault_ulimits = [\"nofile=4096:4096\", \"nproc=4096:4096\"]\n");
  const auto silent = write("b.conf", "[containers]\nlog_size_max = 100\n[engine]\nevents_logger = \"file\"\n");
  const auto broken = write("c.conf", "[containers\n");
  const auto bad_entry = write("d.conf", "[containers]\ndefault_ulimits = [\"nofile=lots\"]\n");
  const auto missing = dir_ / "absent.conf";
  const std::vector<Ulimit> expected{{"nofile", 4096, 4096}, {"nproc", 4096, 4096}};
  EXPECT_EQ(podman_default_ulimits({system, silent, broken, bad_entry, missing}), expected);

  const auto user = write("e.conf", "[containers]\ndefault_ulimits = [\"nofile=1024\"]\n");
  EXPECT_EQ(podman_default_ulimits({system, user}), (std::vector<Ulimit>{{"nofile", 1024, 1024}}));
  // An explicit empty list clears them, as in Podman.
  const auto cleared = write("f.conf", "[containers]\ndefault_ulimits = []\n");
  EXPECT_TRUE(podman_default_ulimits({system, cleared}).empty());
  EXPECT_TRUE(podman_default_ulimits({missing}).empty());
}

}  // namespace
}  // namespace hutch::docker
