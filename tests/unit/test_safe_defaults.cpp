// The safe default limits (memory 2g, pids 1024) and the explicit unlimited state of Limits:
// apply_safe_defaults, merge_defaults, validate, the config file and the spec's JSON form.
#include <hutch/config.hpp>
#include <hutch/error.hpp>
#include <hutch/spec.hpp>
#include <hutch/spec_json.hpp>

#include <gtest/gtest.h>

namespace hutch {
namespace {

TEST(SafeDefaults, FillWhatIsUnsetAndSaySo) {
  const SandboxSpec spec = apply_safe_defaults(SandboxSpec{});
  EXPECT_EQ(spec.limits.memory_bytes, kDefaultMemoryBytes);
  EXPECT_EQ(kDefaultMemoryBytes, 2ull << 30);
  EXPECT_EQ(spec.limits.pids, 1024u);
  EXPECT_TRUE(spec.limits.memory_defaulted);
  EXPECT_TRUE(spec.limits.pids_defaulted);
  EXPECT_FALSE(spec.limits.cpus.has_value());
  // Applied twice (a fork of a resolved spec), nothing changes.
  EXPECT_EQ(apply_safe_defaults(spec), spec);
}

TEST(SafeDefaults, KeepWhatWasAskedForAndUnlimited) {
  SandboxSpec spec;
  spec.limits.memory_bytes = 64 << 20;
  spec.limits.pids_unlimited = true;
  const SandboxSpec resolved = apply_safe_defaults(spec);
  EXPECT_EQ(resolved.limits.memory_bytes, 64u << 20);
  EXPECT_FALSE(resolved.limits.memory_defaulted);
  EXPECT_FALSE(resolved.limits.pids.has_value());
  EXPECT_FALSE(resolved.limits.pids_defaulted);
  EXPECT_NO_THROW(validate(resolved));
}

TEST(SafeDefaults, MergeDefaultsCarriesUnlimitedBothWays) {
  SandboxSpec defaults;
  defaults.limits.memory_unlimited = true;
  defaults.limits.pids = 50;
  SandboxSpec spec;
  spec.limits.pids_unlimited = true;
  const SandboxSpec merged = merge_defaults(spec, defaults);
  EXPECT_TRUE(merged.limits.memory_unlimited);
  EXPECT_FALSE(merged.limits.memory_bytes.has_value());
  EXPECT_TRUE(merged.limits.pids_unlimited);
  EXPECT_FALSE(merged.limits.pids.has_value());
}

TEST(SafeDefaults, UnlimitedWithAValueIsRefused) {
  SandboxSpec spec;
  spec.limits.memory_unlimited = true;
  spec.limits.memory_bytes = 1 << 20;
  EXPECT_THROW(validate(spec), Error);
}

TEST(SafeDefaults, TomlSaysUnlimited) {
  const Config config = parse_config("[defaults]\nmemory = \"unlimited\"\npids = \"unlimited\"\n", "t.toml");
  EXPECT_TRUE(config.defaults.limits.memory_unlimited);
  EXPECT_TRUE(config.defaults.limits.pids_unlimited);
  const Config numbers = parse_config("[defaults]\nmemory = \"1g\"\npids = 7\n", "t.toml");
  EXPECT_EQ(numbers.defaults.limits.memory_bytes, 1ull << 30);
  EXPECT_EQ(numbers.defaults.limits.pids, 7u);
  EXPECT_THROW(parse_config("[defaults]\npids = \"lots\"\n", "t.toml"), Error);
}

TEST(SafeDefaults, JsonKeepsUnlimitedAndDefaulted) {
  SandboxSpec spec;
  spec.limits.memory_unlimited = true;
  spec.limits.pids = kDefaultPids;
  spec.limits.pids_defaulted = true;
  const std::string text = spec_to_json(spec);
  EXPECT_NE(text.find("\"memory\":\"unlimited\""), std::string::npos) << text;
  EXPECT_EQ(spec_from_json(text), spec);
}

}  // namespace
}  // namespace hutch
