// A fresh hutch world per test: a config file selecting the fake backend, with its state in a
// temporary directory, so tests never see each other's sandboxes.
#pragma once

#include "hutch_runner.hpp"

#include <gtest/gtest.h>

#include <filesystem>
#include <initializer_list>
#include <set>
#include <string>
#include <vector>

namespace hutch::test {

inline const std::filesystem::path kFakePlugin = std::filesystem::path(HUTCH_TEST_PLUGIN_DIR) / "hutch-fake.so";
inline const std::filesystem::path kLimitedPlugin = HUTCH_CLI_LIMITED_PLUGIN;

class HutchCliTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(std::filesystem::exists(HUTCH_EXE)) << "the hutch binary is not built: " << HUTCH_EXE;
    ASSERT_TRUE(std::filesystem::exists(kFakePlugin))
        << "the fake backend plugin is not built: " << kFakePlugin << " (target hutch-fake)";
    write_config("");
  }

  // Sandboxes on a real backend outlive hutch: whatever a test left there (an ASSERT that
  // returned before its `hutch rm`) is removed before TempDir deletes the state directory under
  // it — which would leave it running with nothing that finds it again.
  void TearDown() override {
    for (const auto& plugin : backends_used_) {
      const HutchResult pruned = hutch({"--backend", plugin.string(), "prune", "--all"});
      EXPECT_EQ(pruned.exit_code, 0) << "prune --all on " << plugin << ": " << pruned.err;
    }
  }

  // Rewrites the config file with [defaults] backend, state_dir and the test plugin dir, plus
  // `extra_defaults` (more [defaults] lines) and `extra_tables` (more tables).
  void write_config(const std::string& extra_defaults, const std::string& extra_tables = {}) {
    write_file(config_, "[defaults]\nbackend = \"fake\"\nstate_dir = \"" + (dir_.path() / "state").string() +
                            "\"\n" + extra_defaults + "\n[plugins]\npaths = [\"" + HUTCH_TEST_PLUGIN_DIR + "\"]\n" +
                            extra_tables);
  }

  // Runs hutch with this test's config.
  HutchResult hutch(std::vector<std::string> args, const std::string& input = {}) {
    args.insert(args.begin(), {"--config", config_.string()});
    return run_hutch(args, input);
  }

  // Runs hutch with this test's config on the backend plugin at `plugin`, which TearDown prunes.
  HutchResult hutch_on(const std::filesystem::path& plugin, std::vector<std::string> args) {
    backends_used_.insert(plugin);
    args.insert(args.begin(), {"--backend", plugin.string()});
    return hutch(std::move(args));
  }

  // `hutch create` with `options`; fails the test unless it printed one id.
  std::string create(std::vector<std::string> options = {}) {
    options.insert(options.begin(), "create");
    const HutchResult result = hutch(options);
    EXPECT_EQ(result.exit_code, 0) << result.err;
    EXPECT_EQ(result.err, "");
    std::string id = result.out;
    EXPECT_TRUE(!id.empty() && id.back() == '\n') << "create printed: '" << result.out << "'";
    if (!id.empty() && id.back() == '\n') id.pop_back();
    EXPECT_EQ(id.find('\n'), std::string::npos) << "create printed more than the id: " << result.out;
    return id;
  }

  // The ids `hutch ls --json` reports.
  std::vector<std::string> listed_ids() { return ids_listed_by(hutch({"--json", "ls"})); }

  // The ids in the output of a `hutch --json ls` that has run.
  std::vector<std::string> ids_listed_by(const HutchResult& result) {
    EXPECT_EQ(result.exit_code, 0) << result.err;
    std::vector<std::string> ids;
    const boost::json::value listing = parse_json(result.out);
    if (!listing.is_array()) {
      ADD_FAILURE() << "ls --json is not an array: " << result.out;
      return ids;
    }
    for (const auto& entry : listing.as_array()) ids.emplace_back(entry.at("id").as_string());
    return ids;
  }

  const std::filesystem::path& dir() const { return dir_.path(); }
  const std::filesystem::path& config() const { return config_; }

 private:
  TempDir dir_;
  std::filesystem::path config_ = dir_.path() / "hutch.toml";
  std::set<std::filesystem::path> backends_used_;
};

// A one-line hutch error: exit 125, nothing on stdout, exactly one "hutch: " line on stderr that
// contains every one of `needles`.
inline void expect_hutch_error(const HutchResult& result, std::initializer_list<std::string> needles) {
  EXPECT_EQ(result.exit_code, 125) << "stderr: " << result.err;
  EXPECT_EQ(result.out, "");
  const auto lines = result.err_lines();
  ASSERT_EQ(lines.size(), 1u) << "stderr: " << result.err;
  EXPECT_EQ(lines[0].rfind("hutch: ", 0), 0u) << lines[0];
  for (const std::string& needle : needles)
    EXPECT_NE(lines[0].find(needle), std::string::npos) << "'" << needle << "' not in: " << lines[0];
}

}  // namespace hutch::test
