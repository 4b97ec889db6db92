// Handle: one live sandbox.
//
// A Handle is obtained from SandboxBackend::create or ::resume and is shared
// (std::shared_ptr): copies of the pointer refer to the same sandbox (StartOS's rc()).
// Dropping the last reference does NOT destroy the sandbox — sandboxes outlive the objects
// (and, for persistent backends, the processes) that made them; call destroy(), or use
// hutch::ScopedSandbox (<hutch/scoped.hpp>) to destroy on every path out of a scope.
//
// After destroy(), every other call throws Errc::state. A verb the backend cannot do (see
// SandboxBackend::capabilities) throws Errc::unsupported naming the verb and the backend.
// Methods may be called from several threads unless a comment says otherwise.
#pragma once

#include <hutch/export.hpp>
#include <hutch/fs.hpp>
#include <hutch/process.hpp>
#include <hutch/types.hpp>

#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace hutch {

class ForkFactory;

class HUTCH_INTERFACE Handle {
 public:
  virtual ~Handle() = default;

  // Stable identifier; SandboxBackend::resume(id()) finds the sandbox again.
  virtual std::string id() const = 0;
  // The spec the sandbox was created with (with the backend's defaults filled in).
  virtual SandboxSpec spec() const = 0;
  virtual SandboxInfo info() = 0;

  // Runs a command to completion and returns its buffered result. A non-zero exit is not an
  // error: it is in ExecResult. Throws Errc::invalid_argument for an empty argv, Errc::not_found
  // when argv[0] cannot be executed is NOT thrown: that is exit code 127 as in a shell.
  virtual ExecResult exec(const ExecRequest& request) = 0;

  // Starts a command and returns it running (streams, stdin, wait, kill). stdin is open for
  // writing when request.stdin_data is unset; if it is set, it is written and closed.
  virtual std::unique_ptr<Process> spawn(const ExecRequest& request) = 0;

  // Starts the sandbox's main command (StartOS's launch), for service sandboxes. Unlike
  // spawn it is tied to no caller: it keeps running after this handle, and the process that
  // made it, are gone, until it ends, is replaced, or the sandbox is destroyed.
  //  - At most one main command: launching again replaces it. The previous one's whole process
  //    tree (setsid'd and double-forked children too) gets SIGTERM, then SIGKILL after the
  //    backend's grace period; the new one starts only once that tree is gone (so it can bind
  //    the same port). When launches race, the last one wins; one superseded before it
  //    started throws Errc::state.
  //  - When the main process ends, whatever it left running is killed (as systemd does for a
  //    service), so an ended main command leaves nothing behind.
  //  - Its stdout and stderr go, interleaved as written, to the sandbox's log (see logs()),
  //    which the backend keeps bounded. Its stdin is /dev/null.
  //  - Uses argv, env, cwd and user of the request as exec does. stdin_data and timeout must be
  //    unset (Errc::invalid_argument); output_limit does not apply; tty is Errc::unsupported.
  // Returns once the command was started (after the previous one is gone), with its state
  // running; info().main_command follows it from then on. A command that cannot be executed
  // (not found) starts and exits with 127, its reason in the log, as in a shell.
  // Errc::unsupported when capabilities().launch is false.
  virtual MainCommandInfo launch(const ExecRequest& request);

  // Writes the main command's log to `sink`, oldest output first, in chunks. With `follow`,
  // keeps waiting for new output (as `tail -f`) until the main command has ended and its last
  // output was written, or `sink` returns false. Only the newest part of a long log is kept
  // (the backend says how much); a follower that falls more than that behind skips output.
  // Errc::not_found when nothing was ever launched; Errc::unsupported without
  // capabilities().launch.
  virtual void logs(const std::function<bool(std::string_view chunk)>& sink, bool follow = false);

  // Changes the environment of the commands started after it returns (exec, spawn, launch),
  // from this and every other process: each key of `set` is set to its value, each name in
  // `unset` removed (also when the image set it); a request's own env still wins. The change
  // is kept with the sandbox (TanStack's env.set) and shows in spec().env. Running commands
  // keep theirs. Keys are checked as SandboxSpec::env's (Errc::invalid_argument); a key in
  // both lists is invalid too. Errc::unsupported without capabilities().set_env.
  virtual void set_env(const Env& set, const std::vector<std::string>& unset);

  // The sandbox's files.
  virtual Fs& fs() = 0;

  // A new sandbox whose filesystem equals this one's at the time of the call, created through
  // this handle's fork factory. The copy is independent: later writes on either side are not
  // seen by the other. Errc::unsupported when fork_factory() is null.
  virtual std::shared_ptr<Handle> fork();

  // Stores the sandbox's filesystem as a snapshot; SandboxBackend::restore starts a new
  // sandbox from it. Errc::unsupported when capabilities().snapshot is false.
  virtual SnapshotInfo snapshot(const std::string& label);

  // Freezes / thaws every process of the sandbox. Errc::unsupported without capabilities().pause.
  virtual void pause();
  virtual void unpause();

  // Stops the sandbox and keeps it: every process gets SIGTERM, then SIGKILL once the spec's
  // stop_grace has passed (0: at once); the main command is stopped with them. Files, the
  // writable layer and volumes stay; no process runs and the sandbox holds no memory of its
  // own. info().state is then SandboxState::stopped; exec, spawn, launch, fs, pause and the
  // like throw Errc::state until start(). Stopping a stopped (or expired) sandbox does nothing.
  // Errc::unsupported without capabilities().stop.
  virtual void stop();
  // Starts a stopped (or expired) sandbox again with the spec it was created with: new
  // processes (its PID 1 / container), the same files. A main command that was launched starts
  // again with the request it was last launched with. An expired sandbox's lifetimes start
  // over: its ttl counts from this start. Starting a running sandbox does nothing.
  // Errc::unsupported without capabilities().stop.
  virtual void start();

  // Changes the sandbox's lifetimes: `ttl` sets its deadline to now + ttl, `idle_timeout`
  // replaces its idle limit (spec.ttl and spec.idle_timeout were the first ones). Where the
  // sandbox holds its lifetimes itself (capabilities().lifetimes: its PID 1 does), it ends at
  // expiry by itself — gracefully, as stop() — and is listed SandboxState::expired until prune
  // removes it; elsewhere prune applies them. Idle means: no command running, no file
  // operation, no attached stream (a launched main command does not count). Errc::state when
  // destroyed; Errc::unsupported without capabilities().stop.
  virtual void set_lifetime(const LifetimeUpdate& update);

  // Replaces the sandbox's egress rules (SandboxSpec::egress) with `rules`, all at once: no
  // connection is ever judged by a mix of the old and the new ones. The backend's default
  // policy still follows the rules; an empty list leaves only the default. Connections already
  // open stay open; new ones get the new rules. The rules are kept with the sandbox: they
  // show in spec().egress, hold across stop()/start() and are seen by every process.
  // A stopped sandbox gets them when it starts. Rules are checked as SandboxSpec::egress's
  // (Errc::invalid_argument naming the rule); rules for a sandbox whose network is not
  // "bridge" are Errc::invalid_argument naming its network. Errc::state when destroyed;
  // Errc::unsupported without capabilities().set_egress.
  virtual void set_egress(const std::vector<EgressRule>& rules);

  virtual Stats stats();

  // Where the sandbox's published ports (SandboxSpec::ports) are bound on the host now: one
  // binding per mapping, in the spec's order, with the port the backend picked for a
  // host_port of 0 (it holds that port while the sandbox runs). Empty when the sandbox
  // publishes nothing, and while it is stopped (a start binds again: a picked port may then
  // differ). Works from any process, not only the creator. Errc::state when destroyed;
  // Errc::unsupported without capabilities().ports.
  virtual std::vector<PortBinding> ports();

  // A TCP connection to `port` on the sandbox's own loopback (127.0.0.1, else ::1), made from
  // inside the sandbox's network namespace: it works with network = "none" and needs no
  // published port. Returns the connected stream socket's file descriptor, close-on-exec, which
  // the caller owns (and must close). Errc::io naming the port when nothing accepts there;
  // Errc::state when the sandbox is not running; Errc::invalid_argument for port 0;
  // Errc::unsupported without capabilities().connect_port.
  virtual int connect_port(std::uint16_t port);

  // Stops every process (SIGTERM, then SIGKILL after the spec's stop_grace, as stop() does; the
  // main command included) and removes everything the sandbox owns (except persistent
  // volumes). Idempotent: destroying a destroyed sandbox does nothing.
  virtual void destroy() = 0;

  // The factory fork() uses: the backend's native one, or the core's generic
  // copy-through-Fs factory (make_fs_copy_fork_factory in <hutch/fork.hpp>). Default: none.
  virtual std::shared_ptr<ForkFactory> fork_factory();

 protected:
  // For the default implementations above: the backend's name, for error messages.
  virtual std::string backend_name() const = 0;
};

}  // namespace hutch
