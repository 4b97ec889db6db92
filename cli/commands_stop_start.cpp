// stop and start: a sandbox stopped keeps its files (Handle::stop), and runs again with the
// same spec once started (Handle::start). Each checks the backend's capability first, so an
// unsupported verb fails before any engine is contacted. (`update`, which changes lifetimes,
// is in commands_update.cpp.)
#include "command.hpp"
#include "sandbox_lookup.hpp"

#include <hutch/backend.hpp>
#include <hutch/handle.hpp>

#include <memory>
#include <string>
#include <vector>

namespace hutch::cli {
namespace {

CLI::App* add_ids_verb(CLI::App& app, const std::string& name, const std::string& description,
                       std::vector<std::string>& ids) {
  CLI::App* command = app.add_subcommand(name, description);
  command->add_option("ID", ids, "sandbox ids")->required();
  return command;
}

// Runs `verb` on each sandbox; prints each id done, reports each failure (as rm does).
int on_each(Session& session, const std::vector<std::string>& ids, const char* name, void (Handle::*verb)()) {
  return remove_each(ids, [&](const std::string& id) {
    (*find_sandbox_with(session, id, &Capabilities::stop, name).handle.*verb)();
  });
}

}  // namespace

void register_stop_start_commands(CLI::App& app, Session& session, CommandTable& table) {
  auto stop_ids = std::make_shared<std::vector<std::string>>();
  table.add(add_ids_verb(app, "stop",
                         "stop sandboxes and keep them: SIGTERM to every process, SIGKILL after the sandbox's "
                         "stop grace; files and volumes stay",
                         *stop_ids),
            [&session, stop_ids] { return on_each(session, *stop_ids, "stop", &Handle::stop); });

  auto start_ids = std::make_shared<std::vector<std::string>>();
  table.add(add_ids_verb(app, "start", "start stopped sandboxes again (and their main command)", *start_ids),
            [&session, start_ids] { return on_each(session, *start_ids, "start", &Handle::start); });
}

}  // namespace hutch::cli
