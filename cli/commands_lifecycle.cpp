// The verbs that make, list, show and remove sandboxes: create, ls, inspect, rm, prune.
#include "command.hpp"
#include "create_options.hpp"
#include "output.hpp"
#include "sandbox_lookup.hpp"
#include "sandbox_source.hpp"

#include <hutch/backend.hpp>
#include <hutch/error.hpp>
#include <hutch/log.hpp>
#include <hutch/spec.hpp>
#include <hutch/units.hpp>

#include <iostream>
#include <iterator>
#include <memory>

namespace hutch::cli {

namespace {

int create(Session& session, const CreateOptions& options) {
  SandboxSpec spec = make_spec(options, session.config());
  // Made to outlive this process: only its ttl, idle timeout or `prune --all` removes it.
  spec.detached = true;
  SandboxBackend& backend = backend_for(session, options);
  // A sandbox of a non-persistent backend ends with this process: its id would be useless.
  if (!backend.capabilities().persistent)
    throw Error(Errc::unsupported, "backend '" + backend.name() +
                                       "' does not support create (its sandboxes do not outlive "
                                       "the hutch process); use 'hutch run' instead");
  const std::string id = create_or_restore(backend, options, spec)->id();
  if (session.options.json)
    print_json(boost::json::object{{"id", id}});
  else
    std::cout << id << '\n';
  return 0;
}

// `--label K=V` options (ls, prune) as a filter.
Filter label_filter(const std::vector<std::string>& labels) {
  Filter filter;
  for (const auto& entry : labels) {
    auto [key, value] = parse_key_value(entry, "--label");
    filter.labels[key] = value;
  }
  return filter;
}

struct ListOptions {
  std::vector<std::string> labels;
};

int list(Session& session, const ListOptions& options) {
  const Filter filter = label_filter(options.labels);
  std::vector<SandboxInfo> sandboxes;
  const std::vector<SandboxBackend*> backends = available_backends(session);
  for (SandboxBackend* backend : backends) {
    try {
      std::vector<SandboxInfo> listed = backend->list(filter);
      sandboxes.insert(sandboxes.end(), std::make_move_iterator(listed.begin()), std::make_move_iterator(listed.end()));
    } catch (const Error& error) {
      // One backend down (dockerd stopped) hides only its own sandboxes; asked for alone, it fails.
      if (session.searched_backend_names().size() == 1) throw;
      warn_unavailable(backend->name(), error.what());
    }
  }
  if (session.options.json) {
    boost::json::array array;
    for (const SandboxInfo& info : sandboxes) array.emplace_back(to_json(info));
    print_json(array);
    return 0;
  }
  std::vector<std::vector<std::string>> rows{{"ID", "BACKEND", "IMAGE", "STATE", "CREATED"}};
  for (const SandboxInfo& info : sandboxes)
    rows.push_back({info.id, info.backend, info.image, to_string(info.state), format_time(info.created)});
  print_table(rows);
  return 0;
}

std::string join_labels(const Labels& labels) {
  std::string text;
  for (const auto& [key, value] : labels) text += (text.empty() ? "" : ",") + key + "=" + value;
  return text;
}

int inspect(Session& session, const std::string& id) {
  const SandboxInfo info = find_sandbox(session, id).handle->info();
  if (session.options.json) {
    print_json(to_json(info));
    return 0;
  }
  const SandboxSpec& spec = info.spec;
  std::vector<std::pair<std::string, std::string>> fields{
      {"id", info.id},
      {"backend", info.backend},
      {"image", info.image},
      {"state", to_string(info.state)},
      {"created", format_time(info.created)},
      {"expires at", info.expires_at ? format_time(*info.expires_at) : "never"},
      {"labels", join_labels(info.labels)},
      {"workdir", spec.workdir},
      {"user", spec.user},
      {"network", to_string(spec.network)},
      {"read-only root", spec.read_only_root ? "yes" : "no"},
      {"memory", spec.limits.memory_bytes ? format_size(*spec.limits.memory_bytes) : "unlimited"},
      {"cpus", spec.limits.cpus ? std::to_string(*spec.limits.cpus) : "unlimited"},
      {"pids", spec.limits.pids ? std::to_string(*spec.limits.pids) : "unlimited"},
      {"ttl", spec.ttl ? format_duration(*spec.ttl) : "none"},
      {"idle timeout", spec.idle_timeout ? format_duration(*spec.idle_timeout) : "none"},
      {"stop grace", spec.stop_grace ? format_duration(*spec.stop_grace) : "the backend's default"},
  };
  for (const auto& [key, value] : spec.env) fields.emplace_back("env", key + "=" + value);
  for (const Mount& mount : spec.mounts) fields.emplace_back("mount", format_mount(mount));
  fields.emplace_back("main command", info.main_command ? describe(*info.main_command) : "none");
  // What a command that sets nothing of its own gets: the image's defaults under the spec's.
  if (const auto& defaults = info.defaults) {
    fields.emplace_back("entrypoint", quote_command(defaults->entrypoint));
    fields.emplace_back("cmd", quote_command(defaults->cmd));
    fields.emplace_back("default workdir", defaults->workdir);
    fields.emplace_back("default user", defaults->user.empty() ? "root" : defaults->user);
    for (const auto& [key, value] : defaults->env) fields.emplace_back("default env", key + "=" + value);
  }
  print_fields(fields);
  return 0;
}

struct RemoveOptions {
  std::vector<std::string> ids;
  bool force = false;
};

// rm destroys whatever state the sandbox is in. An unknown id is an error, unless -f: then
// the caller only wants it gone, and gone it is.
int remove(Session& session, const RemoveOptions& options) {
  return remove_each(options.ids, [&](const std::string& id) {
    if (!options.force)
      find_sandbox(session, id).handle->destroy();
    else if (SandboxBackend* owner = owner_if_any(session, id))
      owner->destroy(id);
  });
}

struct PruneOptions {
  bool all = false;
  std::vector<std::string> labels;
};

int prune(Session& session, const PruneOptions& options) {
  Filter filter = label_filter(options.labels);
  filter.all = options.all;
  for (const std::string& id : session.backend().prune(filter)) std::cout << id << '\n';
  return 0;
}

}  // namespace

void register_lifecycle_commands(CLI::App& app, Session& session, CommandTable& table) {
  auto create_options = std::make_shared<CreateOptions>();
  CLI::App* create_command = app.add_subcommand("create", "create (or restore) a sandbox and print its id");
  add_create_options(*create_command, *create_options);
  table.add(create_command, [&session, create_options] { return create(session, *create_options); });

  auto list_options = std::make_shared<ListOptions>();
  CLI::App* list_command = app.add_subcommand("ls", "list the sandboxes of every configured backend (--backend: of that one)");
  list_command->add_option("--label", list_options->labels, "only those with label K=V (repeatable)")
      ->allow_extra_args(false);
  table.add(list_command, [&session, list_options] { return list(session, *list_options); });

  auto inspect_id = std::make_shared<std::string>();
  CLI::App* inspect_command = app.add_subcommand("inspect", "show a sandbox and its spec");
  add_id_argument(*inspect_command, *inspect_id);
  table.add(inspect_command, [&session, inspect_id] { return inspect(session, *inspect_id); });

  auto remove_options = std::make_shared<RemoveOptions>();
  CLI::App* remove_command =
      app.add_subcommand("rm", "destroy sandboxes (running or not) and print their ids");
  remove_command->add_flag("-f,--force", remove_options->force, "ignore unknown ids");
  remove_command->add_option("ID", remove_options->ids, "sandbox ids")->required();
  table.add(remove_command, [&session, remove_options] { return remove(session, *remove_options); });

  auto prune_options = std::make_shared<PruneOptions>();
  CLI::App* prune_command = app.add_subcommand(
      "prune", "destroy leaked sandboxes (owner gone, ttl or idle timeout passed) and print their ids");
  prune_command->add_flag("--all", prune_options->all, "destroy every sandbox hutch manages");
  prune_command->add_option("--label", prune_options->labels, "only those with label K=V (repeatable)")
      ->allow_extra_args(false);
  table.add(prune_command, [&session, prune_options] { return prune(session, *prune_options); });
}

}  // namespace hutch::cli
