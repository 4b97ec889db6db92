// How verbs are wired: each commands_*.cpp registers its subcommands with CLI11 and an action
// that main() runs once parsing (of everything) has succeeded. Actions return the exit code and
// report failures by throwing sbx::Error.
#pragma once

#include "session.hpp"

#include <sbx/error.hpp>

#include <CLI/CLI.hpp>

#include <functional>
#include <map>
#include <string>

namespace sbx::cli {

using Action = std::function<int()>;

class CommandTable {
 public:
  void add(CLI::App* command, Action action) { actions_[command] = std::move(action); }

  // Runs the action of the subcommand that was given (exactly one is required).
  int run(const CLI::App& app) const {
    for (const CLI::App* command : app.get_subcommands()) {
      auto found = actions_.find(command);
      if (found != actions_.end()) return found->second();
    }
    throw Error(Errc::invalid_argument, "no verb given (see 'sbx --help')");
  }

 private:
  std::map<const CLI::App*, Action> actions_;
};

// A required positional sandbox id, named "ID" so CLI11's "ID is required" reads right.
inline CLI::Option* add_id_argument(CLI::App& command, std::string& id) {
  return command.add_option("ID", id, "sandbox id")->required();
}

void register_backends_command(CLI::App& app, Session& session, CommandTable& table);
void register_run_commands(CLI::App& app, Session& session, CommandTable& table);        // run, exec
void register_lifecycle_commands(CLI::App& app, Session& session, CommandTable& table);  // create, ls, inspect, rm, prune
void register_sandbox_verb_commands(CLI::App& app, Session& session, CommandTable& table);  // fork, snapshot, pause, unpause, stats
void register_cp_command(CLI::App& app, Session& session, CommandTable& table);
void register_launch_commands(CLI::App& app, Session& session, CommandTable& table);  // launch, logs

}  // namespace sbx::cli
