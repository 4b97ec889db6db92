// `hutch run` (a command in a fresh sandbox, destroyed afterwards) and `hutch exec` (a command in
// an existing sandbox). Both stream output live and exit with the command's status.
#include "command.hpp"
#include "create_options.hpp"
#include "interrupt.hpp"
#include "request_options.hpp"
#include "sandbox_source.hpp"
#include "stream_exec.hpp"

#include <hutch/backend.hpp>
#include <hutch/error.hpp>
#include <hutch/log.hpp>
#include <hutch/scoped.hpp>
#include <hutch/spec.hpp>
#include <hutch/units.hpp>

#include <spdlog/spdlog.h>

#include <iostream>
#include <limits>
#include <memory>

namespace hutch::cli {

namespace {

struct CommandOptions {
  std::vector<std::string> argv;
  std::optional<std::string> timeout;
  std::optional<std::string> start_timeout;
  bool interactive = false;
};

void add_command_options(CLI::App& command, CommandOptions& options) {
  command.add_option("--timeout", options.timeout,
                     "kill the command after this long (exit 124), e.g. 30s; default: [defaults] timeout");
  command.add_option("--start-timeout", options.start_timeout,
                     "fail if the sandbox has not started the command after this long, e.g. 5s; "
                     "default: [defaults] start_timeout, else 10s");
  command.add_flag("-i,--interactive", options.interactive, "forward stdin to the command");
}

void add_command_argument(CLI::App& command, CommandOptions& options) {
  command.add_option("CMD", options.argv, "the command and its arguments")->required();
  // Everything after the first positional belongs to the command, options included.
  command.positionals_at_end();
}

// The duration given as `option`, or `fallback` when it was not given.
std::optional<Duration> duration_option(const char* option, const std::optional<std::string>& text,
                                        const std::optional<Duration>& fallback) {
  if (!text) return fallback;
  try {
    return parse_duration(*text);
  } catch (const Error& error) {
    throw Error(error.code(), std::string(option) + ": " + error.what());
  }
}

ExecRequest make_request(const CommandOptions& options, const Config& config) {
  ExecRequest request;
  request.argv = options.argv;
  request.timeout = duration_option("--timeout", options.timeout, config.exec_timeout);
  request.start_timeout = duration_option("--start-timeout", options.start_timeout, config.exec_start_timeout);
  // Output is streamed to us as it comes; nothing needs to be kept.
  request.output_limit = std::numeric_limits<std::uint64_t>::max();
  // Without -i the command sees an empty, closed stdin, never our terminal.
  if (!options.interactive) request.stdin_data = "";
  return request;
}

void require_stdin_support(SandboxBackend& backend, bool interactive) {
  if (interactive && !backend.capabilities().stdin) throw_unsupported(backend.name(), "stdin (-i)");
}

struct RunOptions {
  CreateOptions create;
  CommandOptions command;
  bool keep = false;
};

int run(Session& session, const RunOptions& options) {
  // Every argument is checked before the backend is loaded.
  // With no image given, [defaults.image_map] may pick one for the program (python3 -> python).
  SandboxSpec spec = make_spec(options.create, session.config(), options.command.argv);
  // A kept sandbox outlives this process, so it must not look orphaned to `hutch prune`.
  spec.detached = options.keep;
  // Not kept: nothing reads its files once it is gone, so the backend may keep them in memory.
  spec.ephemeral = !options.keep;
  ExecRequest request = make_request(options.command, session.config());
  validate(request);
  SandboxBackend& backend = backend_for(session, options.create);
  require_stdin_support(backend, options.command.interactive);

  // Watching from before create: a signal during create still ends in destroy.
  InterruptWatcher watcher;
  ScopedSandbox sandbox(create_or_restore(backend, options.create, spec));
  const std::string id = sandbox->id();
  logger()->debug("created sandbox {}", id);

  int status = 0;
  if (const int signal_number = watcher.received_signal(); signal_number != 0) {
    status = 128 + signal_number;
  } else {
    auto process = sandbox->spawn(request);
    status = stream_process(*process, watcher, options.command.interactive);
  }

  std::shared_ptr<Handle> handle = sandbox.release();
  if (options.keep && watcher.received_signal() == 0) {
    std::cerr << "hutch: kept sandbox " << id << std::endl;
    return status;
  }
  try {
    handle->destroy();
  } catch (const Error& error) {
    // The command's status is what the caller asked for; a leak is reported, not hidden.
    std::cerr << "hutch: destroying sandbox " << id << " failed (remove it with 'hutch rm " << id
              << "'): " << error.what() << std::endl;
  }
  return status;
}

struct ExecOptions {
  SandboxCommandOptions target;
  CommandOptions command;  // its argv stays empty: the command is target.argv
};

int exec(Session& session, const ExecOptions& options) {
  ExecRequest request = make_request(options.command, session.config());
  apply_sandbox_command(options.target, request, "exec");
  validate(request);
  SandboxBackend& backend = session.backend();
  require_stdin_support(backend, options.command.interactive);

  InterruptWatcher watcher;
  std::shared_ptr<Handle> sandbox = backend.resume(options.target.id);
  auto process = sandbox->spawn(request);
  return stream_process(*process, watcher, options.command.interactive);
}

}  // namespace

void register_run_commands(CLI::App& app, Session& session, CommandTable& table) {
  auto run_options = std::make_shared<RunOptions>();
  CLI::App* run_command = app.add_subcommand(
      "run", "run CMD in a new sandbox, streaming its output; exits with its status");
  add_create_options(*run_command, run_options->create);
  add_command_options(*run_command, run_options->command);
  run_command->add_flag("--keep", run_options->keep,
                        "keep the sandbox afterwards (its id is printed on stderr)");
  add_command_argument(*run_command, run_options->command);
  table.add(run_command, [&session, run_options] { return run(session, *run_options); });

  auto exec_options = std::make_shared<ExecOptions>();
  CLI::App* exec_command =
      app.add_subcommand("exec", "run CMD in an existing sandbox; exits with its status");
  add_command_options(*exec_command, exec_options->command);
  add_sandbox_command(*exec_command, exec_options->target);
  table.add(exec_command, [&session, exec_options] { return exec(session, *exec_options); });
}

}  // namespace hutch::cli
