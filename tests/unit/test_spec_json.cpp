// SandboxSpec <-> JSON (<hutch/spec_json.hpp>): what backends store so resume() and fork() get
// the spec a sandbox was created with.
#include <hutch/error.hpp>
#include <hutch/spec_json.hpp>

#include <gtest/gtest.h>

#include <chrono>

namespace hutch {
namespace {

TEST(SpecJson, RoundTrips) {
  SandboxSpec spec;
  spec.image = "busybox:latest";
  spec.env = {{"A", "1"}};
  spec.workdir = "/w";
  spec.user = "1000";
  spec.mounts = {Mount{MountType::tmpfs, "", "/t", true, MountKind::directory, "", IdMap{0, 1, 2}, 4096},
                 Mount{MountType::bind, "/src", "/dst", false, MountKind::file, "sub"}};
  spec.limits = Limits{1 << 20, 0.5, 10};
  spec.network = NetworkMode::bridge;
  spec.labels = {{"k", "v"}};
  spec.ttl = std::chrono::seconds(30);
  spec.idle_timeout = std::chrono::seconds(5);
  spec.read_only_root = true;
  spec.ports = {80, 443};
  spec.detached = true;
  spec.ephemeral = true;
  EXPECT_EQ(spec_from_json(spec_to_json(spec)), spec);
  EXPECT_EQ(spec_from_json(spec_to_json(SandboxSpec{})), SandboxSpec{});
  EXPECT_THROW(spec_from_json("not json"), Error);
}

}  // namespace
}  // namespace hutch
