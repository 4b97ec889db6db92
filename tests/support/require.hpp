// "Required component" switches. CI exports HUTCH_REQUIRE_DOCKER=1 and HUTCH_REQUIRE_NAMESPACES=1;
// a test that needs a component may skip only when its switch is unset, and must fail when it
// is set and the component is missing — so a green CI always means the real thing ran.
#pragma once

#include <gtest/gtest.h>

#include <cstdlib>
#include <string>

namespace hutch::test {

inline bool required(const char* env_switch) {
  const char* value = std::getenv(env_switch);
  return value != nullptr && std::string(value) != "" && std::string(value) != "0";
}

}  // namespace hutch::test

// Use at the top of a test (or SetUp): HUTCH_NEED(available, "HUTCH_REQUIRE_DOCKER", "why").
#define HUTCH_NEED(available, env_switch, reason)                                          \
  do {                                                                                    \
    if (!(available)) {                                                                   \
      if (::hutch::test::required(env_switch)) {                                            \
        FAIL() << env_switch << " is set but the component is missing: " << (reason);     \
      } else {                                                                            \
        GTEST_SKIP() << "component missing (set " << env_switch << "=1 to fail instead): " \
                     << (reason);                                                         \
      }                                                                                   \
    }                                                                                     \
  } while (0)
