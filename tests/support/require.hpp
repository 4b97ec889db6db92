// "Required component" switches. CI exports SBX_REQUIRE_DOCKER=1 and SBX_REQUIRE_NAMESPACES=1;
// a test that needs a component may skip only when its switch is unset, and must fail when it
// is set and the component is missing — so a green CI always means the real thing ran.
#pragma once

#include <gtest/gtest.h>

#include <cstdlib>
#include <string>

namespace sbx::test {

inline bool required(const char* env_switch) {
  const char* value = std::getenv(env_switch);
  return value != nullptr && std::string(value) != "" && std::string(value) != "0";
}

}  // namespace sbx::test

// Use at the top of a test (or SetUp): SBX_NEED(available, "SBX_REQUIRE_DOCKER", "why").
#define SBX_NEED(available, env_switch, reason)                                          \
  do {                                                                                    \
    if (!(available)) {                                                                   \
      if (::sbx::test::required(env_switch)) {                                            \
        FAIL() << env_switch << " is set but the component is missing: " << (reason);     \
      } else {                                                                            \
        GTEST_SKIP() << "component missing (set " << env_switch << "=1 to fail instead): " \
                     << (reason);                                                         \
      }                                                                                   \
    }                                                                                     \
  } while (0)
