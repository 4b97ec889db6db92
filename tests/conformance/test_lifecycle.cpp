// create / info / list / resume / destroy, and what a destroyed sandbox answers.
#include "fixture.hpp"

#include <algorithm>

namespace hutch::conformance {
namespace {

bool contains_id(const std::vector<SandboxInfo>& infos, const std::string& id) {
  return std::any_of(infos.begin(), infos.end(), [&](const auto& info) { return info.id == id; });
}

HUTCH_CONFORMANCE_SUITE(Lifecycle);

TEST_P(Lifecycle, CreateGivesARunningSandboxWithItsLabels) {
  auto sandbox = create();
  ASSERT_FALSE(sandbox->id().empty());

  SandboxInfo info = sandbox->info();
  EXPECT_EQ(info.id, sandbox->id());
  EXPECT_EQ(info.backend, backend().name());
  EXPECT_EQ(info.state, SandboxState::running);
  EXPECT_EQ(info.labels[kLabelManaged], "true");
  EXPECT_EQ(info.labels[kLabelId], sandbox->id());
  EXPECT_FALSE(info.labels[kLabelOwner].empty()) << "sandboxes must carry the hutch.owner label";
  for (const auto& [key, value] : test_labels()) EXPECT_EQ(info.labels[key], value) << key;

  SandboxSpec spec = sandbox->spec();
  for (const auto& [key, value] : test_labels()) EXPECT_EQ(spec.labels[key], value) << key;

  ExecResult hello = run(*sandbox, cmd().print_stdout("hello"));
  EXPECT_EQ(hello.shell_status(), 0) << hello.stderr_data;
  EXPECT_EQ(hello.stdout_data, "hello\n");
}

// An asked pids limit holds inside the sandbox, or the create is refused (unsupported) — never
// accepted and ignored, as rootless Podman on cgroup v1 does with every resource limit.
TEST_P(Lifecycle, AnAskedPidsLimitIsHeldOrRefused) {
  if (cmd().flavour() == Flavour::fake) GTEST_SKIP() << "the fake backend's commands are not processes";
  SandboxSpec spec = base_spec();
  spec.limits.pids = 24;
  std::shared_ptr<Handle> sandbox;
  try {
    sandbox = create(spec);
  } catch (const Error& error) {
    EXPECT_EQ(error.code(), Errc::unsupported) << error.what();
    return;
  }
  const ExecResult result = run(*sandbox, cmd().start_processes(48));
  EXPECT_EQ(result.stdout_data.find("started 48"), std::string::npos)
      << "a sandbox with pids = 24 started 48 processes: the limit was accepted and not enforced";
  EXPECT_NE(result.shell_status(), 0) << result.stdout_data << result.stderr_data;
}

TEST_P(Lifecycle, ListFindsExactlyTheSandboxesWithTheLabels) {
  auto first = create();
  auto second = create();
  auto listed = backend().list(test_filter());
  EXPECT_EQ(listed.size(), 2u);
  EXPECT_TRUE(contains_id(listed, first->id()));
  EXPECT_TRUE(contains_id(listed, second->id()));
  for (const auto& info : listed) EXPECT_EQ(info.backend, backend().name());
}

TEST_P(Lifecycle, ResumeByIdReachesTheSameSandbox) {
  auto sandbox = create();
  make_work_dir(*sandbox);
  sandbox->fs().write(work_path("marker"), "resumed");

  auto again = track(backend().resume(sandbox->id()));
  EXPECT_EQ(again->id(), sandbox->id());
  EXPECT_EQ(again->fs().read(work_path("marker")), "resumed");
  ExecResult result = run(*again, cmd().print_stdout("via-resume"));
  EXPECT_EQ(result.stdout_data, "via-resume\n") << result.stderr_data;
}

TEST_P(Lifecycle, DestroyRemovesTheSandboxAndIsIdempotent) {
  auto sandbox = create();
  std::string id = sandbox->id();
  sandbox->destroy();
  EXPECT_FALSE(contains_id(backend().list(test_filter()), id));
  EXPECT_NO_THROW(sandbox->destroy());
  EXPECT_NO_THROW(backend().destroy(id));
  EXPECT_NO_THROW(backend().destroy("hutch-conformance-no-such-sandbox"));
}

TEST_P(Lifecycle, CallsAfterDestroyFailWithState) {
  auto sandbox = create();
  sandbox->destroy();
  EXPECT_TRUE(throws_errc(Errc::state, [&] { run(*sandbox, cmd().print_stdout("x")); })) << "exec";
  EXPECT_TRUE(throws_errc(Errc::state, [&] { sandbox->spawn(request(cmd().print_stdout("x"))); }))
      << "spawn";
  EXPECT_TRUE(throws_errc(Errc::state, [&] { sandbox->info(); })) << "info";
  EXPECT_TRUE(throws_errc(Errc::state, [&] { sandbox->fs().stat("/"); })) << "fs().stat";
  EXPECT_TRUE(throws_errc(Errc::state, [&] { sandbox->fs().write("/x", "x"); })) << "fs().write";
}

TEST_P(Lifecycle, DestroyThroughOneHandleIsSeenByAnother) {
  auto sandbox = create();
  auto other = track(backend().resume(sandbox->id()));
  sandbox->destroy();
  EXPECT_TRUE(throws_errc(Errc::state, [&] { run(*other, cmd().print_stdout("x")); }));
}

TEST_P(Lifecycle, ResumeOfAnUnknownOrDestroyedIdIsNotFound) {
  EXPECT_TRUE(throws_errc(Errc::not_found,
                          [&] { backend().resume("hutch-conformance-no-such-sandbox"); }));
  auto sandbox = create();
  sandbox->destroy();
  EXPECT_TRUE(throws_errc(Errc::not_found, [&] { track(backend().resume(sandbox->id())); }));
}

TEST_P(Lifecycle, BadSpecIsInvalidArgumentAndLeavesNothing) {
  SandboxSpec relative_workdir = base_spec();
  relative_workdir.workdir = "relative/dir";
  EXPECT_TRUE(throws_errc(Errc::invalid_argument, [&] { create(relative_workdir); }))
      << "relative workdir";

  SandboxSpec reserved_label = base_spec();
  reserved_label.labels["hutch.id"] = "forged";
  EXPECT_TRUE(throws_errc(Errc::invalid_argument, [&] { create(reserved_label); }))
      << "label with the reserved hutch. prefix";

  SandboxSpec bad_env = base_spec();
  bad_env.env["A=B"] = "x";
  EXPECT_TRUE(throws_errc(Errc::invalid_argument, [&] { create(bad_env); })) << "env key with '='";

  SandboxSpec zero_memory = base_spec();
  zero_memory.limits.memory_bytes = 0;
  EXPECT_TRUE(throws_errc(Errc::invalid_argument, [&] { create(zero_memory); }))
      << "zero memory limit";

  EXPECT_TRUE(backend().list(test_filter()).empty()) << "a refused create left a sandbox behind";
}

}  // namespace
}  // namespace hutch::conformance
