// The hutch command: global options, one subcommand per verb, and the one error convention:
// hutch's own failures are a single "hutch: <message>" line on stderr and exit code 125, so a
// script can tell them from the exit code of the command it ran.
#include "command.hpp"
#include "interrupt.hpp"
#include "session.hpp"

#include <hutch/error.hpp>

#include <CLI/CLI.hpp>

#include <algorithm>
#include <exception>
#include <iostream>
#include <string>

namespace {

int report_error(std::string message) {
  // Exactly one line, whatever the message looked like.
  std::replace(message.begin(), message.end(), '\n', ' ');
  std::cout.flush();
  std::cerr << "hutch: " << message << std::endl;
  return hutch::cli::kExitHutchError;
}

void add_global_options(CLI::App& app, hutch::cli::GlobalOptions& options) {
  app.add_option("--config", options.config_file,
                 "configuration file (default: $HUTCH_CONFIG, ./hutch.toml, ~/.config/hutch/hutch.toml, "
                 "/etc/hutch/hutch.toml)");
  app.add_option("--backend", options.backend,
                 "backend name or path to a plugin .so (default: [defaults] backend)");
  app.add_option("--host", options.host,
                 "use the sandboxes of a hutch serve: unix:///PATH or tcp://HOST:PORT (default: $HUTCH_HOST; "
                 "token: $HUTCH_TOKEN or [backends.remote] token)");
  app.add_option("--log-level", options.log_level,
                 "trace, debug, info, warn, error, critical or off (logs go to stderr)");
  app.add_flag("--json", options.json,
               "machine-readable output (backends, ls, inspect, create, stats, launch, snapshots; run and exec: one result object)");
}

// Global options are also accepted after the verb, of any depth ("hutch ls --json",
// "hutch snapshots rm --log-level debug ID").
void pass_unknown_options_up(CLI::App& parent) {
  for (CLI::App* command : parent.get_subcommands({})) {
    // A verb that hands its arguments on unread (serve) keeps them all.
    if (!command->get_prefix_command()) command->fallthrough();
    pass_unknown_options_up(*command);
  }
}

}  // namespace

int main(int argc, char** argv) {
  hutch::cli::Session session;
  hutch::cli::CommandTable commands;
  CLI::App app{"hutch: run untrusted code in sandboxes", "hutch"};
  app.require_subcommand(1);
  app.footer(
      "Exit status: run and exec exit with the command's status (124 when it timed out, 128+N\n"
      "when it was killed by signal N); hutch's own errors print one 'hutch: ' line and exit 125.");
  app.get_formatter()->column_width(34);
  add_global_options(app, session.options);
  hutch::cli::register_backends_command(app, session, commands);
  hutch::cli::register_run_commands(app, session, commands);
  hutch::cli::register_lifecycle_commands(app, session, commands);
  hutch::cli::register_sandbox_verb_commands(app, session, commands);
  hutch::cli::register_cp_command(app, session, commands);
  hutch::cli::register_launch_commands(app, session, commands);
  hutch::cli::register_stop_start_commands(app, session, commands);
  hutch::cli::register_snapshots_commands(app, session, commands);
  hutch::cli::register_update_command(app, session, commands);
  hutch::cli::register_volume_commands(app, session, commands);
  hutch::cli::register_images_commands(app, session, commands);
  hutch::cli::register_serve_command(app, session, commands);
  pass_unknown_options_up(app);

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& error) {
    if (error.get_exit_code() == 0) return app.exit(error);  // --help
    // CLI11 would only say that a subcommand is required; name what was given instead.
    if (app.get_subcommands().empty() && !app.remaining().empty())
      return report_error("unknown verb '" + app.remaining().front() + "' (see 'hutch --help')");
    return report_error(error.what());
  }

  try {
    hutch::cli::survive_broken_pipes();
    return commands.run(app);
  } catch (const hutch::Error& error) {
    return report_error(error.what());
  } catch (const std::exception& error) {
    return report_error(std::string("internal error: ") + error.what());
  }
}
