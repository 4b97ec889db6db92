// `hutch run` (a command in a fresh sandbox, destroyed afterwards) and `hutch exec` (a command in
// an existing sandbox). Both stream output live (or, with --json, print one result object at
// the end) and exit with the command's status.
#include "command.hpp"
#include "create_options.hpp"
#include "interrupt.hpp"
#include "request_options.hpp"
#include "sandbox_lookup.hpp"
#include "sandbox_source.hpp"
#include "stream_exec.hpp"
#include "window_size.hpp"

#include <hutch/backend.hpp>
#include <hutch/error.hpp>
#include <hutch/exec_result_json.hpp>
#include <hutch/log.hpp>
#include <hutch/scoped.hpp>
#include <hutch/spec.hpp>
#include <hutch/units.hpp>

#include <spdlog/spdlog.h>

#include <iostream>
#include <limits>
#include <memory>
#include <tuple>

#include <unistd.h>

namespace hutch::cli {

namespace {

struct CommandOptions {
  std::vector<std::string> argv;
  std::optional<std::string> timeout;
  std::optional<std::string> start_timeout;
  std::optional<std::string> max_output;
  bool interactive = false;
  bool tty = false;
};

// --json keeps at most this much of each stream unless --max-output says otherwise.
constexpr std::uint64_t kDefaultJsonOutputCap = 16u << 20;

void add_command_options(CLI::App& command, CommandOptions& options) {
  command.add_option("--timeout", options.timeout,
                     "kill the command after this long (exit 124), e.g. 30s; default: [defaults] timeout");
  command.add_option("--start-timeout", options.start_timeout,
                     "fail if the sandbox has not started the command after this long, e.g. 5s; "
                     "default: [defaults] start_timeout, else 10s");
  command.add_flag("-i,--interactive", options.interactive, "forward stdin to the command");
  command.add_option("--max-output", options.max_output,
                     "bytes of stdout and of stderr passed on (or kept, with --json), e.g. 1m; the rest "
                     "is dropped. Default: no cap, 16m with --json");
  command.add_flag("-t,--tty", options.tty,
                   "give the command a terminal (with -i: ours in raw mode, Ctrl-C goes to the command)");
}

void add_command_argument(CLI::App& command, CommandOptions& options) {
  command.add_option("CMD", options.argv,
                     "the command and its arguments, after the image's Entrypoint; default: the image's Cmd");
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

OutputPolicy output_policy(const CommandOptions& options, bool json) {
  OutputPolicy policy;
  policy.collect = json;
  if (options.max_output) {
    try {
      policy.max_output = parse_size(*options.max_output);
    } catch (const Error& error) {
      throw Error(error.code(), std::string("--max-output: ") + error.what());
    }
  } else if (json) {
    policy.max_output = kDefaultJsonOutputCap;
  }
  return policy;
}

ExecRequest make_request(const CommandOptions& options, const Config& config) {
  ExecRequest request;
  request.argv = options.argv;
  request.timeout = duration_option("--timeout", options.timeout, config.exec_timeout);
  request.start_timeout = duration_option("--start-timeout", options.start_timeout, config.exec_start_timeout);
  // Output is taken from the command as it comes and capped, if at all, by stream_process.
  request.output_limit = std::numeric_limits<std::uint64_t>::max();
  // Without -i the command sees an empty, closed stdin, never our terminal.
  if (!options.interactive) request.stdin_data = "";
  request.tty = options.tty;
  if (options.tty)
    if (auto size = ::isatty(STDOUT_FILENO) == 1 ? terminal_size(STDOUT_FILENO) : terminal_size(STDIN_FILENO))
      std::tie(request.tty_cols, request.tty_rows) = *size;
  return request;
}

// With --json, the result as one JSON object on stdout (exec_result_json.hpp).
int finish(const StreamOutcome& outcome, const OutputPolicy& policy) {
  if (policy.collect) std::cout << exec_result_to_json(outcome.result) << std::endl;
  return outcome.status;
}

void require_stdin_support(SandboxBackend& backend, const CommandOptions& options) {
  if (options.interactive && !backend.capabilities().stdin) throw_unsupported(backend.name(), "stdin (-i)");
  if (options.tty && !backend.capabilities().tty) throw_unsupported(backend.name(), "a terminal (-t)");
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
  const OutputPolicy policy = output_policy(options.command, session.options.json);
  ExecRequest request = make_request(options.command, session.config());
  // As `docker run`: the image's Entrypoint first, then CMD (or the image's Cmd).
  request.use_entrypoint = true;
  validate(request);
  SandboxBackend& backend = backend_for(session, options.create);
  require_stdin_support(backend, options.command);

  // Watching from before create: a signal during create still ends in destroy.
  InterruptWatcher watcher;
  ScopedSandbox sandbox(create_or_restore(backend, options.create, spec));
  const std::string id = sandbox->id();
  logger()->debug("created sandbox {}", id);

  StreamOutcome outcome;
  if (const int signal_number = watcher.received_signal(); signal_number != 0) {
    outcome.status = 128 + signal_number;
    outcome.result.signal = signal_number;
  } else {
    auto process = sandbox->spawn(request);
    outcome = stream_process(*process, watcher, options.command.interactive, policy, options.command.tty);
  }
  const int status = finish(outcome, policy);

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
  const OutputPolicy policy = output_policy(options.command, session.options.json);
  ExecRequest request = make_request(options.command, session.config());
  apply_sandbox_command(options.target, request, "exec");
  validate(request);
  const OwnedSandbox owned = find_sandbox(session, options.target.id);
  require_stdin_support(*owned.backend, options.command);

  InterruptWatcher watcher;
  const std::shared_ptr<Handle>& sandbox = owned.handle;
  auto process = sandbox->spawn(request);
  return finish(stream_process(*process, watcher, options.command.interactive, policy, options.command.tty), policy);
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
