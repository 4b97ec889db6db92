// `hutch backends`: every backend found, loadable or not, with capabilities or the error.
#include "cli_fixture.hpp"

#include <unistd.h>

namespace hutch::test {
namespace {

using BackendsTest = HutchCliTest;

const boost::json::object* find_backend(const boost::json::value& listing, const std::string& name) {
  if (!listing.is_array()) return nullptr;
  for (const auto& entry : listing.as_array())
    if (entry.is_object() && entry.at("name").as_string() == name) return &entry.as_object();
  return nullptr;
}

TEST_F(BackendsTest, ListsTheDefaultWithCapabilitiesAndBrokenPluginsWithTheirError) {
  const TempDir plugins;
  write_file(plugins.path() / "hutch-notaplugin.so", "this is not a shared library\n");
  // The test plugin dir (with hutch-fake.so) and a dir with a broken plugin.
  write_file(config(), "[defaults]\nbackend = \"fake\"\nstate_dir = \"" + (dir() / "state").string() +
                           "\"\n[plugins]\npaths = [\"" + HUTCH_TEST_PLUGIN_DIR + "\", \"" +
                           plugins.path().string() + "\"]\n");

  const HutchResult result = hutch({"backends", "--json"});
  ASSERT_EQ(result.exit_code, 0) << result.err;
  const boost::json::value listing = parse_json(result.out);

  const boost::json::object* fake = find_backend(listing, "fake");
  ASSERT_NE(fake, nullptr) << result.out;
  EXPECT_TRUE(fake->at("default").as_bool());
  EXPECT_TRUE(fake->at("error").is_null()) << result.out;
  EXPECT_TRUE(fake->at("capabilities").at("fork").as_bool());
  EXPECT_TRUE(fake->at("capabilities").at("persistent").as_bool());

  const boost::json::object* broken = find_backend(listing, "notaplugin");
  ASSERT_NE(broken, nullptr) << result.out;
  EXPECT_FALSE(broken->at("default").as_bool());
  EXPECT_TRUE(broken->at("capabilities").is_null());
  EXPECT_NE(std::string(broken->at("error").as_string()).find("hutch-notaplugin.so"), std::string::npos)
      << result.out;

  const HutchResult text = hutch({"backends"});
  EXPECT_EQ(text.exit_code, 0) << text.err;
  EXPECT_NE(text.out.find("notaplugin"), std::string::npos) << text.out;
  EXPECT_NE(text.out.find("fork"), std::string::npos) << text.out;
}

// A backend's warnings (the docker engine without user namespaces, ...) go to stderr, and into
// the JSON listing.
TEST_F(BackendsTest, ShowsWhatTheBackendWarnsAbout) {
  write_config("", "[backends.fake]\nwarning = \"the engine shares host root's quotas\"\n");
  const HutchResult text = hutch({"backends"});
  ASSERT_EQ(text.exit_code, 0) << text.err;
  EXPECT_NE(text.err.find("warning: fake: the engine shares host root's quotas"), std::string::npos) << text.err;
  const HutchResult json = hutch({"--json", "backends"});
  ASSERT_EQ(json.exit_code, 0) << json.err;
  const boost::json::value listing = parse_json(json.out);
  const boost::json::object* fake = find_backend(listing, "fake");
  ASSERT_NE(fake, nullptr) << json.out;
  EXPECT_EQ(fake->at("warnings"), (boost::json::array{"the engine shares host root's quotas"})) << json.out;
}

TEST_F(BackendsTest, ConfiguredBackendThatCannotLoadIsListedNotFatal) {
  write_config("", "[backends.missing]\n");
  const HutchResult result = hutch({"--json", "backends"});
  ASSERT_EQ(result.exit_code, 0) << result.err;
  const boost::json::value listing = parse_json(result.out);
  const boost::json::object* missing = find_backend(listing, "missing");
  ASSERT_NE(missing, nullptr) << result.out;
  EXPECT_NE(std::string(missing->at("error").as_string()).find("not found"), std::string::npos);
}

TEST_F(BackendsTest, BackendGivenByPath) {
  const HutchResult result = hutch({"--backend", kLimitedPlugin.string(), "--json", "backends"});
  ASSERT_EQ(result.exit_code, 0) << result.err;
  const boost::json::value listing = parse_json(result.out);
  const boost::json::object* limited = find_backend(listing, kLimitedPlugin.string());
  ASSERT_NE(limited, nullptr) << result.out;
  EXPECT_TRUE(limited->at("default").as_bool());
  EXPECT_FALSE(limited->at("capabilities").at("fork").as_bool());
}

// What the subcontainer backend does not bound on this host: it has no disk quota for a
// sandbox's writable layer; an ephemeral root is bounded unless rootless or ephemeral_size = 0.
TEST_F(BackendsTest, SubcontainerSaysWhatItDoesNotLimit) {
  const auto subcontainer_with = [&](const std::string& table) {
    write_file(config(), "[defaults]\nbackend = \"subcontainer\"\nstate_dir = \"" + (dir() / "state").string() +
                             "\"\n[plugins]\npaths = [\"" + HUTCH_PLUGIN_OUTPUT_DIR + "\"]\n[backends.subcontainer]\n" +
                             table);
    const HutchResult result = hutch({"backends", "--json"});
    EXPECT_EQ(result.exit_code, 0) << result.err;
    const boost::json::value listing = parse_json(result.out);
    const boost::json::object* found = find_backend(listing, "subcontainer");
    return found != nullptr ? *found : boost::json::object{};
  };
  const auto warnings_of = [](const boost::json::object& backend) {
    std::string all;
    for (const auto& warning : backend.at("warnings").as_array())
      all += std::string(warning.as_string()) + "\n";
    return all;
  };
  const std::string bounded = warnings_of(subcontainer_with(""));
  EXPECT_NE(bounded.find("disk is not limited"), std::string::npos) << bounded;
  const bool rootless = ::geteuid() != 0;
  EXPECT_EQ(bounded.find("`hutch run` sandbox is not size-limited") != std::string::npos, rootless) << bounded;
  const std::string unbounded = warnings_of(subcontainer_with("ephemeral_size = \"0\"\n"));
  EXPECT_NE(unbounded.find("`hutch run` sandbox is not size-limited"), std::string::npos) << unbounded;

  const boost::json::object refused = subcontainer_with("ephemeral_size = \"100k\"\n");
  ASSERT_TRUE(refused.contains("error"));
  EXPECT_NE(std::string(refused.at("error").as_string()).find("ephemeral_size"), std::string::npos);

  subcontainer_with("");
  const HutchResult text = hutch({"backends"});
  EXPECT_NE(text.err.find("warning: subcontainer: disk is not limited"), std::string::npos) << text.err;
}

}  // namespace
}  // namespace hutch::test
