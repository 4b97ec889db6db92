// A live sandbox container. Its id is the container's name ("hutch-<hex>"), which the Engine
// accepts wherever a container id goes, so resume(id) works from any process.
//
// Commands (and the Fs's remove / rename / symlink tools) go to the sandbox's agent when it
// has one (label hutch.agent-dir; see sandbox_agent.hpp), except TTY requests, which the agent
// cannot serve; else, and for TTY, through the exec API (docker_process.hpp).
#pragma once

#include "context.hpp"
#include "docker_fs.hpp"

#include "agent/lifetime_client.hpp"
#include "agent/wire.hpp"

#include <hutch/fork.hpp>
#include <hutch/handle.hpp>

#include <sys/types.h>

#include <atomic>
#include <filesystem>
#include <functional>
#include <optional>
#include <string_view>
#include <memory>
#include <string>

namespace hutch::docker {

// How a snapshot's image is named: "hutch-snapshot:<snapshot id>".
std::string snapshot_image(const std::string& snapshot_id);
// Computes Stats from one GET /containers/{id}/stats?stream=false answer (cgroup v1 or v2).
Stats stats_from_json(const std::string& body);

class DockerHandle final : public Handle, public std::enable_shared_from_this<DockerHandle> {
 public:
  DockerHandle(std::shared_ptr<Context> context, std::string id, SandboxSpec spec, Labels labels);

  std::string id() const override { return id_; }
  SandboxSpec spec() const override;
  SandboxInfo info() override;
  ExecResult exec(const ExecRequest& request) override;
  std::unique_ptr<Process> spawn(const ExecRequest& request) override;
  // Through the agent only: Errc::unsupported for a sandbox without one (agent = off, a TCP
  // endpoint) and for one made before the host-only directory existed (sandbox_dir.hpp).
  MainCommandInfo launch(const ExecRequest& request) override;
  void logs(const std::function<bool(std::string_view chunk)>& sink, bool follow) override;
  void set_env(const Env& set, const std::vector<std::string>& unset) override;
  Fs& fs() override { return fs_; }
  SnapshotInfo snapshot(const std::string& label) override;
  void pause() override;
  void unpause() override;
  // stop: the container stopped (SIGTERM through the agent to every process, SIGKILL after
  // the grace); start: the container started again, its main command launched again.
  void stop() override;
  void start() override;
  void set_lifetime(const LifetimeUpdate& update) override;
  // On hutch's network (egress_network.hpp): the sandbox's chain and its resolver policy are
  // replaced at once. The rules live in the host's table and the resolver's policy file, not
  // in the container's labels (which cannot change): spec().egress of this handle shows them,
  // another process's inspect shows the rules of create. Errc::unsupported where the engine
  // is remote or rootless, or hutch is not root (egress_enforcement_problem).
  void set_egress(const std::vector<EgressRule>& rules) override;
  Stats stats() override;
  std::vector<PortBinding> ports() override;
  // Through the agent (wire.hpp's connect request): its shepherd, in the container's network
  // namespace, connects and passes the socket back. Errc::unsupported for a sandbox without an
  // agent (agent = "off", a TCP endpoint, or created so).
  int connect_port(std::uint16_t port) override;
  void destroy() override;
  std::shared_ptr<ForkFactory> fork_factory() override;

  const Labels& labels() const { return labels_; }
  // Commits the container as `repository:tag` with `labels`; returns the image reference.
  std::string commit(const std::string& repository, const std::string& tag, const Labels& labels);

 protected:
  std::string backend_name() const override { return context_->backend_name; }

 private:
  void check_alive() const;
  // Every exec, spawn and Fs call counts as activity, for the spec's idle_timeout.
  void check_alive_and_record_activity() const;
  // ... and, for the Fs's calls, tells the agent (idle timeout; lifetime_client.hpp).
  void record_file_activity();
  // Tells the agent the host used the sandbox, for its idle timeout (at most once a second).
  void tell_agent_of_activity();
  void post_simple(const std::string& verb, const std::string& what);
  std::unique_ptr<Process> start_command(const ExecRequest& request, bool attach_stdin);
  // `request` with its argv resolved against the sandbox's entrypoint (use_entrypoint).
  ExecRequest with_command_argv(const ExecRequest& request) const;
  // exec() without the liveness check and activity record.
  ExecResult run_buffered(const ExecRequest& request);
  std::unique_ptr<Process> start_through_agent(const ExecRequest& request);
  agent::wire::ExecMessage agent_message(const ExecRequest& request) const;
  // Calls `send(agent pid)`; when the agent refuses to be the listener (the container
  // restarted with a new PID 1 since the pid was read), reads the pid again and retries once.
  template <class Send>
  decltype(auto) with_agent_pid(Send&& send);
  // The host-only directory of the main command's files; throws Errc::unsupported without one.
  const std::filesystem::path& main_command_dir() const;
  bool container_running();
  // The Fs's rm / mv / ln: argv as root, through the agent when the sandbox has one.
  ExecResult run_as_root(std::vector<std::string> argv);
  // The Fs's tar for paths the archive API does not see: argv as root with stdin attached.
  std::unique_ptr<Process> spawn_as_root(std::vector<std::string> argv);
  // Errc::state when the sandbox is paused, through this handle or by another process (the
  // cgroup freezer of `agent`, its PID 1), since a frozen agent would not answer.
  void check_not_paused(pid_t agent);
  // Handle::set_env's changes, in the sandbox's host-side directory (sandbox_dir.hpp).
  std::filesystem::path env_file() const;
  // The container's PID 1 as the host sees it (the agent), from inspect; cached.
  pid_t agent_pid(bool refresh);

  std::shared_ptr<Context> context_;
  std::string id_;
  SandboxSpec spec_;
  Labels labels_;
  std::atomic<bool> destroyed_{false};
  std::optional<std::filesystem::path> agent_socket_;
  std::optional<std::filesystem::path> main_dir_;  // with the agent, in the current layout
  std::string exec_user_;  // who a request naming no user runs as, through either path
  ImageDefaults defaults_;  // from label::kDefaults; empty for sandboxes made before it
  std::atomic<pid_t> agent_pid_{0};
  // A frozen agent cannot answer; pause() through this handle refuses commands until unpause().
  std::atomic<bool> paused_{false};
  agent::ActivityTouch touch_;
  DockerFs fs_;
};

// The native fork: commit the source container, start a sibling from that image with the
// same spec, then copy the workspace volume's content across through the archive API.
class DockerForkFactory final : public ForkFactory {
 public:
  explicit DockerForkFactory(std::shared_ptr<Context> context) : context_(std::move(context)) {}
  std::shared_ptr<Handle> fork(Handle& source) override;

 private:
  std::shared_ptr<Context> context_;
};

}  // namespace hutch::docker
