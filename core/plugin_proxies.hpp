// Forwarding proxies that keep a plugin's shared library loaded while any object made by the
// plugin is alive (Boost.DLL tutorial 8, done for a whole object graph).
//
// The loader wraps the plugin's backend in a PinnedBackend; every Handle, Process and
// ForkFactory that comes out of it is wrapped in turn. Each proxy holds a reference to the
// library and the plugin's object; the library member is declared first so it is destroyed
// last, after the plugin object whose code lives in it.
#pragma once

#include <hutch/backend.hpp>
#include <hutch/fork.hpp>
#include <hutch/handle.hpp>
#include <hutch/process.hpp>

#include <boost/dll/shared_library.hpp>

#include <memory>
#include <string>
#include <vector>

namespace hutch::detail {

using PluginLibrary = std::shared_ptr<const boost::dll::shared_library>;

class PinnedProcess final : public Process {
 public:
  PinnedProcess(PluginLibrary library, std::unique_ptr<Process> inner);
  ~PinnedProcess() override;

  std::optional<OutputChunk> read_output() override;
  void write_stdin(std::string_view data) override;
  void close_stdin() override;
  ExecResult wait() override;
  void kill(int signal) override;
  void resize(std::uint16_t cols, std::uint16_t rows) override;

 private:
  PluginLibrary library_;  // first: outlives inner_
  std::unique_ptr<Process> inner_;
};

class PinnedHandle final : public Handle {
 public:
  PinnedHandle(PluginLibrary library, std::shared_ptr<Handle> inner, std::string backend_name);
  ~PinnedHandle() override;

  // The plugin's own handle, for proxies that must hand it back to plugin code.
  Handle& inner() const { return *inner_; }

  std::string id() const override;
  SandboxSpec spec() const override;
  SandboxInfo info() override;
  ExecResult exec(const ExecRequest& request) override;
  std::unique_ptr<Process> spawn(const ExecRequest& request) override;
  MainCommandInfo launch(const ExecRequest& request) override;
  void logs(const std::function<bool(std::string_view)>& sink, bool follow) override;
  // The plugin's Fs lives in the plugin's handle, which this proxy owns, so the reference
  // stays valid (and its code loaded) as long as this handle.
  void set_env(const Env& set, const std::vector<std::string>& unset) override;
  Fs& fs() override;
  std::shared_ptr<Handle> fork() override;
  SnapshotInfo snapshot(const std::string& label) override;
  void pause() override;
  void unpause() override;
  void stop() override;
  void start() override;
  void set_lifetime(const LifetimeUpdate& update) override;
  void set_egress(const std::vector<EgressRule>& rules) override;
  Stats stats() override;
  std::vector<PortBinding> ports() override;
  int connect_port(std::uint16_t port) override;
  void destroy() override;
  std::shared_ptr<ForkFactory> fork_factory() override;

 protected:
  std::string backend_name() const override;

 private:
  PluginLibrary library_;  // first: outlives inner_
  std::shared_ptr<Handle> inner_;
  std::string backend_name_;
};

class PinnedForkFactory final : public ForkFactory {
 public:
  PinnedForkFactory(PluginLibrary library, std::shared_ptr<ForkFactory> inner,
                    std::string backend_name);
  ~PinnedForkFactory() override;

  // A PinnedHandle source is unwrapped first: a backend's native factory expects its own
  // handle type.
  std::shared_ptr<Handle> fork(Handle& source) override;

 private:
  PluginLibrary library_;  // first: outlives inner_
  std::shared_ptr<ForkFactory> inner_;
  std::string backend_name_;
};

class PinnedBackend final : public SandboxBackend {
 public:
  PinnedBackend(PluginLibrary library, std::shared_ptr<SandboxBackend> inner);
  ~PinnedBackend() override;

  std::string name() const override;
  Capabilities capabilities() const override;
  std::shared_ptr<Handle> create(const SandboxSpec& spec) override;
  std::shared_ptr<Handle> resume(const std::string& id) override;
  std::vector<SandboxInfo> list(const Filter& filter) override;
  void destroy(const std::string& id) override;
  std::vector<std::string> prune(const Filter& filter) override;
  std::shared_ptr<Handle> restore(const std::string& snapshot_id,
                                  const SandboxSpec& overrides) override;
  std::vector<SnapshotInfo> snapshots() override;
  void delete_snapshot(const std::string& snapshot_id) override;
  std::vector<std::string> warnings() override;
  std::vector<VolumeInfo> volumes() override;
  void remove_volume(const std::string& name) override;
  std::string pull_image(const std::string& image, const std::function<void(const PullProgress&)>& progress) override;
  std::vector<ImageInfo> images() override;
  ImageInfo inspect_image(const std::string& image) override;
  void remove_image(const std::string& image) override;
  std::vector<std::string> prune_images() override;
  std::string import_image(const std::string& path, const std::string& name) override;

 private:
  PluginLibrary library_;  // first: outlives inner_
  std::shared_ptr<SandboxBackend> inner_;
};

}  // namespace hutch::detail
