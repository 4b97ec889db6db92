// The backend the conformance suite runs against. A runner registers its targets before
// ::testing::InitGoogleTest, which is when the parameterised suites are instantiated.
#pragma once

#include "commands.hpp"

#include <hutch/backend.hpp>

#include <gtest/gtest.h>

#include <memory>
#include <ostream>
#include <string>
#include <vector>

namespace hutch::conformance {

struct Target {
  std::shared_ptr<SandboxBackend> backend;
  std::string image;  // empty: the backend's default image
  Commands commands;
};

void register_target(Target target);
std::vector<const Target*> targets();

// How gtest prints a parameter in failure messages.
void PrintTo(const Target* target, std::ostream* out);

// Test-name suffix: the backend's name, made of characters gtest accepts.
struct TargetName {
  std::string operator()(const ::testing::TestParamInfo<const Target*>& info) const;
};

}  // namespace hutch::conformance
