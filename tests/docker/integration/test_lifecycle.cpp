#include "docker_fixture.hpp"
#include "docker_handle.hpp"
#include "error_of.hpp"
#include "engine/query.hpp"
#include "labels.hpp"

#include <hutch/owner.hpp>

#include <boost/json.hpp>

#include <unistd.h>

#include <algorithm>
#include <thread>

namespace hutch::docker::test {
namespace {

TEST_F(DockerTest, CreateExecDestroy) {
  auto sandbox = create();
  auto result = sh(*sandbox, "echo hello; echo oops >&2; exit 3");
  EXPECT_EQ(result.stdout_data, "hello\n");
  EXPECT_EQ(result.stderr_data, "oops\n");
  EXPECT_EQ(result.exit_code, 3);
  EXPECT_EQ(result.shell_status(), 3);
  EXPECT_FALSE(result.timed_out);

  auto info = sandbox->info();
  EXPECT_EQ(info.id, sandbox->id());
  EXPECT_EQ(info.state, SandboxState::running);
  EXPECT_EQ(info.labels.at(kLabelManaged), "true");
  EXPECT_EQ(info.labels.at(kLabelOwner), current_owner());
  EXPECT_EQ(info.spec.image, test_image());

  sandbox->destroy();
  sandbox->destroy();  // idempotent
  EXPECT_THROW(sandbox->exec(ExecRequest{{"true"}}), Error);
  try {
    backend_->resume(sandbox->id());
    FAIL() << "a destroyed sandbox was resumed";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), Errc::not_found) << e.what();
  }
  backend_->destroy(sandbox->id());  // unknown id: not an error
}

TEST_P(DockerBothPathsTest, PidOneReapsAndKeepsTheSandboxUp) {
  auto sandbox = create();
  // An orphaned child exits; PID 1 (docker-init, or the agent) must reap it so no zombie stays.
  auto result = sh(*sandbox, "(sh -c 'exit 0' &) ; sleep 0.5; ps -o stat,comm | grep -c '^Z' || true");
  EXPECT_EQ(result.stdout_data, "0\n");
  auto init = sh(*sandbox, "cat /proc/1/cmdline | tr '\\0' ' '");
  // Without the agent, the engine's own init: docker-init, or Podman's catatonit as /run/podman-init.
  const bool podman = backend_->context()->client->engine().kind == EngineIdentity::Kind::podman;
  const char* expected = GetParam() == AgentMode::on ? "/.hutch/agent serve" : podman ? "/run/podman-init" : "docker-init";
  EXPECT_NE(init.stdout_data.find(expected), std::string::npos) << init.stdout_data;
}

TEST_F(DockerTest, ResumeFromAnotherBackendObject) {
  auto spec = base_spec();
  spec.env["FROM_SPEC"] = "yes";
  auto sandbox = create(spec);
  auto other_backend = make_backend(DockerConfig{});
  auto resumed = other_backend->resume(sandbox->id());
  EXPECT_EQ(resumed->id(), sandbox->id());
  EXPECT_EQ(resumed->spec().env.at("FROM_SPEC"), "yes");
  EXPECT_EQ(sh(*resumed, "echo $FROM_SPEC").stdout_data, "yes\n");
  auto listed = backend_->list(this_run("ResumeFromAnotherBackendObject"));
  ASSERT_EQ(listed.size(), 1u);
  EXPECT_EQ(listed[0].id, sandbox->id());
  EXPECT_EQ(listed[0].state, SandboxState::running);
}

TEST_F(DockerTest, ResumeRefusesContainersNotMadeByHutch) {
  try {
    backend_->resume("hutch-does-not-exist");
    FAIL() << "resumed a missing sandbox";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), Errc::not_found);
  }
}

TEST_F(DockerTest, MissingImageIsNotFoundAndLeavesNothing) {
  DockerConfig config;
  config.pull = PullPolicy::never;
  auto backend = make_backend(config);
  auto spec = base_spec();
  spec.image = "hutch-no-such-image:never";
  try {
    backend->create(spec);
    FAIL() << "created from a missing image";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), Errc::not_found);
    EXPECT_NE(std::string(e.what()).find("hutch-no-such-image:never"), std::string::npos) << e.what();
  }
  EXPECT_TRUE(backend->list(this_run("MissingImageIsNotFoundAndLeavesNothing")).empty());
}

TEST_F(DockerTest, EmptyAndUnknownIdsAreClearErrors) {
  auto error = hutch::test::error_of([&] { backend_->resume(""); });
  EXPECT_EQ(error.code(), Errc::invalid_argument) << error.what();
  error = hutch::test::error_of([&] { backend_->resume("hutch-000000000000"); });
  EXPECT_EQ(error.code(), Errc::not_found) << error.what();
  EXPECT_TRUE(is_container_gone(error)) << "the daemon's own message: " << error.what();
}

TEST_P(DockerBothPathsTest, FailedStartRemovesTheContainerAndItsVolume) {
  auto spec = base_spec();
  spec.workdir = "/workspace";
  // The container is created, then its start (exec API) or the agent's user check fails.
  spec.user = "no-such-user-anywhere";
  auto my_volumes = [&] {
    Request request;
    request.target = "/volumes?filters=" +
                     percent_encode(filters_json({{"label", {std::string(kLabelOwner) + "=" + current_owner()}}}));
    auto body = boost::json::parse(backend_->context()->client->call(request).body);
    auto* volumes = body.as_object().if_contains("Volumes");
    return volumes != nullptr && volumes->is_array() ? volumes->as_array().size() : 0u;
  };
  auto volumes_before = my_volumes();
  try {
    backend_->create(spec);
    FAIL() << "a sandbox with an unknown user started";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("no-such-user-anywhere"), std::string::npos) << e.what();
  }
  auto test_name = ::testing::UnitTest::GetInstance()->current_test_info()->name();
  EXPECT_TRUE(backend_->list(this_run(test_name)).empty());
  EXPECT_EQ(my_volumes(), volumes_before) << "the workspace volume of the failed sandbox was left behind";
}

// Two processes pruning at once (two test runs starting, two `hutch prune`) remove the same
// sandbox: the later one waits for the removal in progress instead of failing on its 409.
TEST_F(DockerTest, ConcurrentRemovalsOfOneSandboxBothSucceed) {
  auto sandbox = create();
  auto other = make_backend(DockerConfig{});
  std::exception_ptr first_error, second_error;
  std::jthread first([&] {
    try {
      backend_->destroy(sandbox->id());
    } catch (...) {
      first_error = std::current_exception();
    }
  });
  try {
    other->destroy(sandbox->id());
  } catch (...) {
    second_error = std::current_exception();
  }
  first.join();
  for (auto error : {first_error, second_error}) {
    try {
      if (error) std::rethrow_exception(error);
    } catch (const std::exception& e) {
      ADD_FAILURE() << e.what();
    }
  }
  EXPECT_TRUE(backend_->list(this_run("ConcurrentRemovalsOfOneSandboxBothSucceed")).empty());
}

TEST_F(DockerTest, PruneRemovesByFilterWithAll) {
  auto spec = base_spec();
  spec.labels["prune-run"] = random_hex(8);
  auto first = backend_->create(spec);
  auto second = backend_->create(spec);
  // Owned by this live process: a plain prune keeps them.
  auto kept = backend_->prune(Filter{{{"prune-run", spec.labels["prune-run"]}}, false});
  EXPECT_TRUE(kept.empty());
  auto removed = backend_->prune(Filter{{{"prune-run", spec.labels["prune-run"]}}, true});
  std::sort(removed.begin(), removed.end());
  std::vector<std::string> expected{first->id(), second->id()};
  std::sort(expected.begin(), expected.end());
  EXPECT_EQ(removed, expected);
  EXPECT_TRUE(backend_->list(Filter{{{"prune-run", spec.labels["prune-run"]}}}).empty());
}

TEST_F(DockerTest, PruneRemovesSandboxesWhoseOwnerIsGone) {
  auto spec = base_spec();
  const std::string run = random_hex(8);
  spec.labels["prune-run"] = run;
  auto alive = create(spec);
  // A leaked sandbox: labelled as made by a process of another boot, so its owner is gone.
  const std::string leaked_id = "hutch-leak-" + random_hex(8);
  const std::string dead_owner = "00000000-0000-0000-0000-000000000000:1:1";
  ASSERT_FALSE(owner_alive(dead_owner));
  boost::json::object body{{"Image", test_image()},
                           {"Cmd", boost::json::array{"sleep", "600"}},
                           {"Labels", boost::json::object{{kLabelManaged, "true"},
                                                          {kLabelId, leaked_id},
                                                          {kLabelOwner, dead_owner},
                                                          {"prune-run", run},
                                                          // Not the suite's label: the crashed-run prune of
                                                          // a parallel test process would take it.
                                                          {kRunLabel, test_run_id()}}}};
  Request request;
  request.method = Method::post;
  request.target = "/containers/create?name=" + leaked_id;
  request.body = boost::json::serialize(body);
  backend_->context()->client->call(request);

  auto removed = backend_->prune(Filter{{{"prune-run", run}}, false});
  EXPECT_EQ(removed, std::vector<std::string>{leaked_id});
  auto left = backend_->list(Filter{{{"prune-run", run}}});
  ASSERT_EQ(left.size(), 1u);
  EXPECT_EQ(left[0].id, alive->id());
}

TEST_F(DockerTest, ImportsARootfsTarball) {
  const char* data = std::getenv("HUTCH_TEST_DATA");
  std::string tarball = std::string(data != nullptr ? data : "/tmp/hutch-test-data") + "/busybox-rootfs.tar";
  HUTCH_NEED(::access(tarball.c_str(), R_OK) == 0, "HUTCH_REQUIRE_DOCKER",
           tarball + " is missing (run .ci/build-test-images.sh)");
  auto spec = base_spec();
  spec.image = "tar:" + tarball;
  auto sandbox = create(spec);
  EXPECT_EQ(sh(*sandbox, "echo imported").stdout_data, "imported\n");
  EXPECT_EQ(sandbox->spec().image.rfind("hutch-import:", 0), 0u) << sandbox->spec().image;
}

// Commits `sandbox` as hutch-prune-test:TAG with `labels`, as the backend's fork and snapshot do.
void commit_image(Handle& sandbox, const std::string& reference_tag, const Labels& labels) {
  dynamic_cast<DockerHandle&>(sandbox).commit("hutch-prune-test", reference_tag, labels);
}

bool image_exists(DockerBackend& backend, const std::string& reference) {
  return engine_has(backend, "/images/hutch-prune-test:" + reference + "/json");
}


// A snapshot is made by a process that then exits (`hutch snapshot`): a plain prune must keep it
// although its owner is gone, while a fork image of a gone owner goes. prune --all takes both.
TEST_F(DockerTest, PruneKeepsSnapshotsOfGoneOwnersButNotTheirForkImages) {
  auto spec = base_spec();
  const std::string run = random_hex(8);
  spec.labels["prune-run"] = run;
  auto alive = create(spec);
  const std::string dead_owner = "00000000-0000-0000-0000-000000000000:1:1";
  auto labels_of_kind = [&](const char* kind) {
    return Labels{{kLabelManaged, "true"}, {kLabelOwner, dead_owner}, {label::kKind, kind},
                  {"prune-run", run},      {kRunLabel, test_run_id()}};
  };
  const std::string snapshot_tag = "snap-" + run, fork_tag = "fork-" + run;
  commit_image(*alive, snapshot_tag, labels_of_kind("snapshot"));
  commit_image(*alive, fork_tag, labels_of_kind("fork"));

  backend_->prune(Filter{{{"prune-run", run}}, false});
  EXPECT_TRUE(image_exists(*backend_, snapshot_tag)) << "a plain prune removed a snapshot";
  EXPECT_FALSE(image_exists(*backend_, fork_tag)) << "a fork image of a gone owner was kept";
  EXPECT_EQ(backend_->list(Filter{{{"prune-run", run}}}).size(), 1u) << "the live sandbox went";

  alive.reset();
  backend_->prune(Filter{{{"prune-run", run}}, true});
  EXPECT_FALSE(image_exists(*backend_, snapshot_tag)) << "prune --all kept a snapshot";
}

}  // namespace
}  // namespace hutch::docker::test
