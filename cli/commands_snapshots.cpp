// `hutch snapshots` (the backend's snapshots) and `hutch snapshots rm` (delete them). Snapshots are
// made by `hutch snapshot ID` and started from by `--from-snapshot` of create and run. Both verbs
// check the backend's snapshot capability first, before any engine is contacted.
#include "command.hpp"
#include "output.hpp"
#include "sandbox_source.hpp"

#include <hutch/backend.hpp>
#include <hutch/error.hpp>

#include <iostream>
#include <memory>

namespace hutch::cli {

namespace {

int list(Session& session) {
  const std::vector<SnapshotInfo> snapshots = session.backend_with(&Capabilities::snapshot, "snapshots").snapshots();
  if (session.options.json) {
    boost::json::array array;
    for (const SnapshotInfo& snapshot : snapshots) array.emplace_back(to_json(snapshot));
    print_json(array);
    return 0;
  }
  std::vector<std::vector<std::string>> rows{{"ID", "LABEL", "SOURCE", "CREATED"}};
  for (const SnapshotInfo& snapshot : snapshots)
    rows.push_back({snapshot.id, snapshot.label, snapshot.source_sandbox, format_time(snapshot.created)});
  print_table(rows);
  return 0;
}

// Like `hutch rm` (remove_each). Sandboxes restored from a deleted snapshot keep running.
int remove(Session& session, const std::vector<std::string>& ids) {
  SandboxBackend& backend = session.backend_with(&Capabilities::snapshot, "snapshots rm");
  const std::vector<SnapshotInfo> snapshots = backend.snapshots();
  return remove_each(ids, [&](const std::string& id) {
    find_snapshot(snapshots, id, backend.name());
    backend.delete_snapshot(id);
  });
}

}  // namespace

void register_snapshots_commands(CLI::App& app, Session& session, CommandTable& table) {
  CLI::App* list_command =
      app.add_subcommand("snapshots", "list the snapshots of the backend (rm: delete snapshots)");
  table.add(list_command, [&session] { return list(session); });

  auto remove_ids = std::make_shared<std::vector<std::string>>();
  CLI::App* remove_command = list_command->add_subcommand("rm", "delete snapshots and print their ids");
  remove_command->add_option("ID", *remove_ids, "snapshot ids")->required();
  table.add(remove_command, [&session, remove_ids] { return remove(session, *remove_ids); });
}

}  // namespace hutch::cli
