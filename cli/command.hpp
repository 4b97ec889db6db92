// How verbs are wired: each commands_*.cpp registers its subcommands with CLI11 and an action
// that main() runs once parsing (of everything) has succeeded. Actions return the exit code and
// report failures by throwing hutch::Error.
#pragma once

#include "session.hpp"

#include <hutch/error.hpp>

#include <CLI/CLI.hpp>

#include <functional>
#include <iostream>
#include <map>
#include <string>
#include <vector>

namespace hutch::cli {

// hutch's own failures exit with this, so a script can tell them from a command's status.
inline constexpr int kExitHutchError = 125;

using Action = std::function<int()>;

class CommandTable {
 public:
  void add(CLI::App* command, Action action) { actions_[command] = std::move(action); }

  // Runs the action of the subcommand that was given (exactly one is required); of a verb
  // with its own subcommands ("snapshots rm"), the innermost one given that has an action.
  int run(const CLI::App& app) const {
    if (const Action* action = given_action(app)) return (*action)();
    throw Error(Errc::invalid_argument, "no verb given (see 'hutch --help')");
  }

 private:
  const Action* given_action(const CLI::App& parent) const {
    for (const CLI::App* command : parent.get_subcommands()) {
      if (const Action* inner = given_action(*command)) return inner;
      auto found = actions_.find(command);
      if (found != actions_.end()) return &found->second;
    }
    return nullptr;
  }

  std::map<const CLI::App*, Action> actions_;
};

// A required positional sandbox id, named "ID" so CLI11's "ID is required" reads right.
inline CLI::Option* add_id_argument(CLI::App& command, std::string& id) {
  return command.add_option("ID", id, "sandbox id")->required();
}

// What the rm verbs do with their ids: `remove` each in turn and print it, report each failure
// as one "hutch: " line without stopping; kExitHutchError if any failed, else 0.
inline int remove_each(const std::vector<std::string>& ids, const std::function<void(const std::string&)>& remove) {
  int status = 0;
  for (const std::string& id : ids) {
    try {
      remove(id);
      std::cout << id << '\n';
    } catch (const Error& error) {
      std::cout.flush();
      std::cerr << "hutch: " << error.what() << std::endl;
      status = kExitHutchError;
    }
  }
  return status;
}

void register_backends_command(CLI::App& app, Session& session, CommandTable& table);
void register_run_commands(CLI::App& app, Session& session, CommandTable& table);        // run, exec
void register_lifecycle_commands(CLI::App& app, Session& session, CommandTable& table);  // create, ls, inspect, rm, prune
void register_sandbox_verb_commands(CLI::App& app, Session& session, CommandTable& table);  // fork, snapshot, pause, unpause, stats
void register_snapshots_commands(CLI::App& app, Session& session, CommandTable& table);  // snapshots, snapshots rm
void register_images_commands(CLI::App& app, Session& session, CommandTable& table);  // pull, images, image inspect/rm/prune/import
void register_cp_command(CLI::App& app, Session& session, CommandTable& table);
void register_launch_commands(CLI::App& app, Session& session, CommandTable& table);  // launch, logs
void register_update_command(CLI::App& app, Session& session, CommandTable& table);   // update (lifetimes, env)
void register_volume_commands(CLI::App& app, Session& session, CommandTable& table);  // volume ls, volume rm
void register_stop_start_commands(CLI::App& app, Session& session, CommandTable& table);  // stop, start
void register_serve_command(CLI::App& app, Session& session, CommandTable& table);        // serve

}  // namespace hutch::cli
