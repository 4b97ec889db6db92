// Shared set-up of the integration tests: a backend talking to the real daemon, the test image,
// and cleanup of every sandbox a test made.
#pragma once

#include "docker_backend.hpp"
#include "engine/client.hpp"
#include "labels.hpp"
#include "leak_guard.hpp"

#include <hutch/error.hpp>
#include <hutch/log.hpp>

#include <require.hpp>
#include <temp_dir.hpp>

#include <gtest/gtest.h>

#include <unistd.h>

#include <cstdlib>
#include <chrono>
#include <memory>
#include <string>
#include <vector>

namespace hutch::docker::test {

inline std::string test_image() {
  const char* image = std::getenv("HUTCH_DOCKER_TEST_IMAGE");
  return image != nullptr && *image != '\0' ? image : "hutch-test-busybox:latest";
}

// Why docker cannot be used here, or empty when it can.
inline std::string docker_unavailable_reason() {
  ClientOptions options;
  options.endpoint = choose_endpoint({});
  // Podman's service takes seconds to answer its first call on a loaded machine.
  options.request_timeout = std::chrono::seconds(30);
  try {
    EngineClient client(options);
    client.ping();
    Request inspect;
    inspect.target = "/images/" + test_image() + "/json";
    try {
      client.call(inspect);
    } catch (const Error& e) {
      return "test image " + test_image() + " is missing (run .ci/build-test-images.sh): " + e.what();
    }
    return {};
  } catch (const Error& e) {
    return std::string("no docker daemon: ") + e.what();
  }
}

// Whether GET `target` (an inspect: "/volumes/<name>", "/images/<ref>/json") finds it.
inline bool engine_has(DockerBackend& backend, const std::string& target) {
  Request request;
  request.target = target;
  try {
    backend.context()->client->call(request);
    return true;
  } catch (const Error& error) {
    if (error.code() == Errc::not_found) return false;
    throw;
  }
}

// The host directory a sandbox's agent listens in (label hutch.agent-dir), or empty.
inline std::filesystem::path agent_dir_of(Handle& handle) {
  auto labels = handle.info().labels;
  auto dir = labels.find(label::kAgentDir);
  return dir == labels.end() ? std::filesystem::path() : std::filesystem::path(dir->second);
}

class DockerTest : public ::testing::Test {
 protected:
  // How backend_ runs commands; suites that test both paths override it.
  virtual AgentMode agent_mode() const { return AgentMode::on; }

  void SetUp() override {
    static const std::string reason = docker_unavailable_reason();
    HUTCH_NEED(reason.empty(), "HUTCH_REQUIRE_DOCKER", reason);
    backend_ = make_backend(DockerConfig{});
  }

  void TearDown() override {
    for (auto& handle : created_) {
      try {
        handle->destroy();
      } catch (const std::exception& e) {
        ADD_FAILURE() << "destroying " << handle->id() << " failed: " << e.what();
      }
    }
    // Tests run one after another in a process, so what this run still has is this test's.
    if (backend_) fail_and_remove_leftovers(*backend_, test_run_id(), "after this test");
  }

  // A backend with the test's agent mode unless `config` picks one, the agent built next to the
  // plugins, and hutch state in a directory of this test.
  std::shared_ptr<DockerBackend> make_backend(DockerConfig config) {
    if (config.agent == AgentMode::automatic) config.agent = agent_mode();
    if (!config.agent_binary) config.agent_binary = HUTCH_AGENT_BINARY;
    // Bridge sandboxes' resolver (egress_network.hpp): the plugin finds it next to itself, this
    // test binary is elsewhere.
    if (!config.resolver) config.resolver = HUTCH_PLUGIN_OUTPUT_DIR "/hutch-resolver";
    if (config.state_dir.empty()) config.state_dir = state_dir_.path().string();
    config.request_timeout = std::chrono::seconds(30);
    config.stop_grace = std::chrono::seconds(1);
    return std::make_shared<DockerBackend>("docker", std::move(config), hutch::logger());
  }

  // Labels every sandbox with the suite, this test process's run and the test's name, so a
  // test that looks for what it left finds only its own, never a leftover of another run or
  // checkout, and the leak guard (leak_guard.hpp) finds whatever a test left.
  static SandboxSpec base_spec() {
    SandboxSpec spec;
    spec.image = test_image();
    spec.labels[kSuiteLabel] = kSuiteName;
    spec.labels[kRunLabel] = test_run_id();
    spec.labels[kTestLabel] = ::testing::UnitTest::GetInstance()->current_test_info()->name();
    return spec;
  }

  // The sandboxes of this run labelled with `test_name`.
  static Filter this_run(const std::string& test_name) {
    return Filter{{{kTestLabel, test_name}, {kRunLabel, test_run_id()}}};
  }

  // Creates a sandbox that TearDown destroys.
  std::shared_ptr<Handle> create(const SandboxSpec& spec, DockerBackend* backend = nullptr) {
    auto handle = (backend != nullptr ? backend : backend_.get())->create(spec);
    created_.push_back(handle);
    return handle;
  }
  std::shared_ptr<Handle> create() { return create(base_spec()); }
  void adopt(std::shared_ptr<Handle> handle) { created_.push_back(std::move(handle)); }

  // POST /containers/<id>/<verb> straight to the engine, as another process would
  // (`docker pause`, `docker unpause`, ...).
  void engine_post(const std::string& id, const std::string& verb) {
    Request request;
    request.method = Method::post;
    request.target = "/containers/" + id + "/" + verb;
    backend_->context()->client->call(request);
  }

  static ExecResult sh(Handle& handle, const std::string& script) {
    ExecRequest request;
    request.argv = {"sh", "-c", script};
    request.timeout = std::chrono::seconds(60);
    return handle.exec(request);
  }

  hutch::test::TempDir state_dir_{"hutch-docker-state-"};
  std::shared_ptr<DockerBackend> backend_;
  std::vector<std::shared_ptr<Handle>> created_;
};

// A suite run once through the agent and once through the exec API (instantiated once, in
// test_exec.cpp, for the tests of every file).
class DockerBothPathsTest : public DockerTest, public ::testing::WithParamInterface<AgentMode> {
 protected:
  AgentMode agent_mode() const override { return GetParam(); }
};

inline std::string agent_mode_name(const ::testing::TestParamInfo<AgentMode>& info) {
  return info.param == AgentMode::on ? "Agent" : "ExecApi";
}

}  // namespace hutch::docker::test
