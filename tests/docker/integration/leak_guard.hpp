// Nothing a docker integration test makes may outlive it. Every sandbox of the suite carries
// three labels (docker_fixture.hpp's base_spec): the suite, this test process's run and the
// test's name; ephemeral workspace volumes and fork/snapshot images carry them too (the
// backend copies a sandbox's labels onto them). With them:
//   - after each test, whatever of this run is still on the daemon fails that test, is listed
//     by name, and is removed by the backend's prune --all on the run's label;
//   - at the end of the process, the same for anything a test outside the fixture left;
//   - named persistent workspace volumes (kPersistentVolumePrefix) are found by name and owner;
//   - at the start, what earlier runs of this suite left when their process died (killed,
//     crashed, interrupted) is pruned: each run whose owner process is gone, with prune --all
//     on its run label; a parallel run's things are never touched (not even its sandboxes
//     whose ttl or idle_timeout passed, which a plain prune would take).
#pragma once

#include "docker_backend.hpp"

#include <hutch/types.hpp>

#include <string>
#include <vector>

namespace hutch::docker::test {

inline constexpr const char* kSuiteLabel = "hutch-test-suite";
inline constexpr const char* kSuiteName = "docker-integration";
inline constexpr const char* kRunLabel = "hutch-test-run";
inline constexpr const char* kTestLabel = "hutch-test";
// A named persistent workspace volume carries none of its sandbox's labels (it outlives the
// sandbox, and a prune narrowed by labels must not take it). Tests name theirs with this
// prefix, so the guard finds them by name and owner: after each test those of this process,
// at the start those whose process is gone.
inline constexpr const char* kPersistentVolumePrefix = "hutch-test-ws-";

// This test process's run: its pid and start time, so it never matches another run.
const std::string& test_run_id();

// What is on the daemon with all of `labels`: one line per sandbox (with the test that made
// it), ephemeral workspace volume, and fork or snapshot image.
std::vector<std::string> leftovers(DockerBackend& backend, const Labels& labels);

// One failure of the current test (outside a test: of the whole program) listing what run
// `run` left, which is then removed. `when` says at which point it was found.
void fail_and_remove_leftovers(DockerBackend& backend, const std::string& run, const std::string& when);

// Prunes what dead runs of this suite left; the ids of the sandboxes removed.
std::vector<std::string> prune_crashed_runs(DockerBackend& backend);

}  // namespace hutch::docker::test
