// What a creator killed with `kill -9` leaves, for the subcontainer backend: a sandbox made by a
// backend of its own on the same state dir (as a second hutch would) in a process that is then
// killed (tests/support/killed_creator.hpp).
#pragma once

#include "backend.hpp"
#include "config.hpp"

#include <killed_creator.hpp>

#include <hutch/log.hpp>

#include <string>

namespace hutch::subcontainer::test {

// The sandbox's id, or empty when the creator failed.
inline std::string create_in_a_killed_creator(const BackendConfig& config, const SandboxSpec& spec) {
  return hutch::test::create_in_a_killed_creator([&] {
    SubcontainerBackend backend(make_runtime(config, hutch::logger()));
    return backend.create(spec)->id();
  });
}

}  // namespace hutch::subcontainer::test
