// The base fixture of every conformance suite: the backend under test, the command
// vocabulary, sandboxes that are destroyed after each test whatever happens, and helpers
// to check hutch::Error codes.
#pragma once

#include "commands.hpp"
#include "target.hpp"

#include <hutch/hutch.hpp>

#include <gtest/gtest.h>

#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace hutch::conformance {

using namespace std::chrono_literals;

// On every sandbox of the suite, so a run can find what earlier runs left.
inline constexpr const char* kSuiteLabel = "hutch-conformance-suite";

// What runs of the suite that died (crashed, killed: no TearDown ran) left on `backend`:
// pruned by the suite's label; the ids removed. The runner calls it before the tests.
std::vector<std::string> prune_crashed_runs(SandboxBackend& backend);

// Success when fn throws hutch::Error with `code`; otherwise says what happened instead.
::testing::AssertionResult throws_errc(Errc code, const std::function<void()>& fn);

class Conformance : public ::testing::TestWithParam<const Target*> {
 protected:
  void TearDown() override;

  SandboxBackend& backend() const { return *GetParam()->backend; }
  const Commands& cmd() const { return GetParam()->commands; }
  Capabilities caps() const { return backend().capabilities(); }

  // The image under test, and labels that name this run and this test (so list/prune in a
  // test only ever touch its own sandboxes, also on a shared engine).
  SandboxSpec base_spec() const;
  Labels test_labels() const;
  Filter test_filter(bool all = false) const { return Filter{test_labels(), all}; }

  // Creates a sandbox that TearDown destroys.
  std::shared_ptr<Handle> create(const SandboxSpec& spec);
  std::shared_ptr<Handle> create() { return create(base_spec()); }
  // Destroys `handle` in TearDown (for sandboxes made by fork, restore, resume).
  std::shared_ptr<Handle> track(std::shared_ptr<Handle> handle);
  void track_snapshot(const std::string& snapshot_id) { snapshots_.push_back(snapshot_id); }

  // A request with a generous timeout, so a broken backend fails the test instead of hanging.
  static ExecRequest request(Argv argv, Duration timeout = 60s);
  ExecResult run(Handle& sandbox, Argv argv);

  // The directory the file tests work in; created with mkdir -p.
  static constexpr const char* kWorkDir = "/tmp/hutch-conformance";
  std::string work_path(const std::string& name) const { return std::string(kWorkDir) + "/" + name; }
  void make_work_dir(Handle& sandbox) const { sandbox.fs().mkdir(kWorkDir, true); }

 private:
  std::vector<std::shared_ptr<Handle>> created_;
  std::vector<std::string> snapshots_;
};

// Declares a conformance suite and instantiates it for every registered target.
#define HUTCH_CONFORMANCE_SUITE(suite)                                                 \
  class suite : public ::hutch::conformance::Conformance {};                          \
  INSTANTIATE_TEST_SUITE_P(Backend, suite,                                           \
                           ::testing::ValuesIn(::hutch::conformance::targets()),      \
                           ::hutch::conformance::TargetName{})

}  // namespace hutch::conformance
