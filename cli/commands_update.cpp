// `hutch update ID [-e K=V] [-e K-]...`: changes a sandbox after create, for the commands that
// follow (Handle::set_env, TanStack's env.set). Other options of the verb (the lifetimes of
// issue 13: --ttl, --idle-timeout) add a field to UpdateOptions and a step to update().
#include "command.hpp"

#include <hutch/backend.hpp>
#include <hutch/error.hpp>
#include <hutch/spec.hpp>

#include <memory>
#include <string>
#include <vector>

namespace hutch::cli {

namespace {

struct UpdateOptions {
  std::string id;
  std::vector<std::string> env;  // "K=V" sets, "K-" unsets
};

// "K=V" -> set, "K-" -> unset; anything else is Errc::invalid_argument naming the option.
void parse_env_change(const std::string& entry, Env& set, std::vector<std::string>& unset) {
  if (entry.find('=') == std::string::npos && entry.size() > 1 && entry.back() == '-') {
    unset.push_back(entry.substr(0, entry.size() - 1));
    return;
  }
  if (entry.find('=') == std::string::npos)
    throw Error(Errc::invalid_argument, "-e '" + entry + "': expected KEY=VALUE to set or KEY- to unset");
  auto [key, value] = parse_key_value(entry, "-e");
  set[key] = value;
}

int update(Session& session, const UpdateOptions& options) {
  Env set;
  std::vector<std::string> unset;
  for (const auto& entry : options.env) parse_env_change(entry, set, unset);
  if (set.empty() && unset.empty())
    throw Error(Errc::invalid_argument, "update " + options.id + ": nothing to change (give -e KEY=VALUE or -e KEY-)");
  auto sandbox = session.backend_with(&Capabilities::set_env, "update -e (set_env)").resume(options.id);
  sandbox->set_env(set, unset);
  return 0;
}

}  // namespace

void register_update_command(CLI::App& app, Session& session, CommandTable& table) {
  auto options = std::make_shared<UpdateOptions>();
  CLI::App* command = app.add_subcommand("update", "change a sandbox for the commands that follow");
  add_id_argument(*command, options->id);
  command
      ->add_option("-e,--env", options->env,
                   "KEY=VALUE sets, KEY- unsets a variable of later commands (repeatable)")
      ->allow_extra_args(false);
  table.add(command, [&session, options] { return update(session, *options); });
}

}  // namespace hutch::cli
