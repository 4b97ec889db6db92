// stop and start: a sandbox stopped keeps its files (Handle::stop), and runs again with the
// same spec once started (Handle::start); update: its lifetimes from now on
// (Handle::set_lifetime). Each checks the backend's capability first, so an unsupported verb
// fails before any engine is contacted.
#include "command.hpp"
#include "sandbox_lookup.hpp"

#include <hutch/backend.hpp>
#include <hutch/handle.hpp>
#include <hutch/units.hpp>

#include <optional>
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

struct UpdateOptions {
  std::string id;
  std::optional<std::string> ttl;
  std::optional<std::string> idle_timeout;
};

// A duration option's value, its errors naming the option.
std::optional<Duration> duration_of(const char* option, const std::optional<std::string>& text) {
  if (!text) return std::nullopt;
  try {
    Duration value = parse_duration(*text);
    if (value.count() <= 0) throw Error(Errc::invalid_argument, "expected a duration greater than zero, got " + *text);
    return value;
  } catch (const Error& error) {
    throw Error(error.code(), std::string(option) + ": " + error.what());
  }
}

int update(Session& session, const UpdateOptions& options) {
  LifetimeUpdate change{duration_of("--ttl", options.ttl), duration_of("--idle-timeout", options.idle_timeout)};
  if (!change.ttl && !change.idle_timeout)
    throw Error(Errc::invalid_argument, "update: nothing to change; give --ttl DUR and/or --idle-timeout DUR");
  find_sandbox_with(session, options.id, &Capabilities::stop, "update").handle->set_lifetime(change);
  return 0;
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

  auto update_options = std::make_shared<UpdateOptions>();
  CLI::App* update_command = app.add_subcommand("update", "change a sandbox's lifetimes from now on");
  add_id_argument(*update_command, update_options->id);
  update_command->add_option("--ttl", update_options->ttl, "the sandbox ends this long from now, e.g. 30m");
  update_command->add_option("--idle-timeout", update_options->idle_timeout, "it ends once idle this long");
  table.add(update_command, [&session, update_options] { return update(session, *update_options); });
}

}  // namespace hutch::cli
