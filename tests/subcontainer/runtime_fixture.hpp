// A subcontainer backend on a private state directory, for the integration tests.
#pragma once

#include "backend.hpp"
#include "config.hpp"
#include "namespaces.hpp"
#include "require.hpp"
#include "temp_dir.hpp"

#include <hutch/loader.hpp>
#include <hutch/log.hpp>

#include <gtest/gtest.h>

#include <sched.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <memory>
#include <optional>
#include <string>

namespace hutch::subcontainer::test {

// True when this process may create a user + mount namespace and the helper is built.
inline bool namespaces_available() {
  return hutch::test::user_namespaces_available() && std::filesystem::exists(HUTCH_SUBCONTAINER_HELPER);
}

// The real plugin (hutch-subcontainer.so), loaded as a host loads it, on `state_dir` with
// sandboxes in the "hutch-test" cgroup.
inline std::shared_ptr<SandboxBackend> load_plugin(const std::filesystem::path& state_dir, const ImageSettings& images = {}) {
  PluginSearch search;
  search.use_env = false;
  search.use_install_dir = false;
  search.unload_when_unused = true;
  PluginContext context;
  context.name = "subcontainer";
  context.config = ConfigTable::parse("cgroup_root = \"hutch-test\"\n", "subcontainer test");
  context.logger = hutch::logger();
  context.state_dir = state_dir.string();
  context.images = images;
  return load_backend(std::string(HUTCH_PLUGIN_OUTPUT_DIR) + "/hutch-subcontainer.so", search, context);
}

// Limits, pause and stats need a cgroup hierarchy this process can write: root here.
inline bool cgroups_writable() {
  return ::geteuid() == 0 && (std::filesystem::exists("/sys/fs/cgroup/memory/memory.limit_in_bytes") ||
                              std::filesystem::exists("/sys/fs/cgroup/cgroup.controllers"));
}

class RuntimeTest : public ::testing::Test {
 protected:
  void SetUp() override {
    HUTCH_NEED(namespaces_available(), "HUTCH_REQUIRE_NAMESPACES", "user+mount namespaces and the helper binary");
    // Short: the control socket path must fit in sockaddr_un.
    const char* parent = ::getenv("HUTCH_TEST_STATE_ROOT");
    state_.emplace("hutcht-", parent != nullptr ? std::filesystem::path(parent) : std::filesystem::temp_directory_path());
    state_dir_ = state_->path();
    BackendConfig config;
    config.state_root = state_dir_ / "subcontainer";
    config.sandboxes_dir = config.state_root / "sandboxes";
    config.volumes_dir = config.state_root / "volumes";
    config.backups_dir = config.state_root / "backups";
    config.image_store = config.state_root / "images";
    config.cgroup_root = "hutch-test";
    config.helper = HUTCH_SUBCONTAINER_HELPER;
    config.port_forwarder = config.helper.parent_path() / "hutch-port-forwarder";
    for (const auto& name : kDefaultCapabilities) config.keep_caps.push_back(*capability_from_name(name));
    runtime_ = make_runtime(config, hutch::logger());
    backend_ = std::make_shared<SubcontainerBackend>(runtime_);
  }
  // The tests leave their sandboxes to this prune; what it misses fails the test when the
  // state directory goes (TempDir).
  void TearDown() override {
    if (backend_) backend_->prune(Filter{{}, true});
    state_.reset();
  }

  ExecResult run(Handle& sandbox, std::vector<std::string> argv) {
    ExecRequest request;
    request.argv = std::move(argv);
    return sandbox.exec(request);
  }
  ExecResult sh(Handle& sandbox, const std::string& script) { return run(sandbox, {"sh", "-c", script}); }

  std::optional<hutch::test::TempDir> state_;
  std::filesystem::path state_dir_;
  std::shared_ptr<Runtime> runtime_;
  std::shared_ptr<SubcontainerBackend> backend_;
};

}  // namespace hutch::subcontainer::test
