// The fake backend: a stand-in engine for unit tests of the core and for the CLI's tests.
// It is NOT a sandbox: nothing is isolated and no host program runs. Its sandboxes are
// directories (see store.hpp), its Fs is a confined directory tree (tree_fs.hpp), and its
// exec interprets a handful of built-in commands (commands.hpp).
//
// Loaded as the plugin hutch-fake.so its [backends.fake] table accepts one key:
//   root = "/abs/dir"   where sandboxes live (default: <state_dir>/fake)
#pragma once

#include <hutch/backend.hpp>
#include <hutch/plugin.hpp>

#include <filesystem>
#include <memory>
#include <string>
#include <vector>

namespace hutch::fake {

struct FakeOptions {
  std::filesystem::path root;  // the state directory; created on first create()
  std::string name = "fake";   // what name() returns
  // The hutch.owner label of new sandboxes; empty means hutch::owner_for(spec) (this process,
  // or "detached"). Tests set a dead owner here to exercise prune.
  std::string owner;
  // What warnings() returns (config key `warning`), for the `hutch backends` tests.
  std::vector<std::string> warnings;
};

std::shared_ptr<SandboxBackend> make_fake_backend(FakeOptions options);

// The plugin factory: reads and checks context.config, then makes the backend.
std::shared_ptr<SandboxBackend> make_fake_backend_from_context(const PluginContext& context);

}  // namespace hutch::fake
