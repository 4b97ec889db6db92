// `hutch volume ls` and `hutch volume rm NAME...`: the backend's persistent volumes (named
// workspaces, `--workspace NAME`), which outlive their sandboxes. rm refuses a volume that a
// sandbox still uses.
#include "command.hpp"
#include "output.hpp"

#include <hutch/backend.hpp>
#include <hutch/error.hpp>

#include <memory>
#include <string>
#include <vector>

namespace hutch::cli {

namespace {

std::string joined(const std::vector<std::string>& items) {
  std::string out;
  for (const auto& item : items) out += (out.empty() ? "" : ",") + item;
  return out;
}

int list(Session& session) {
  const std::vector<VolumeInfo> volumes = session.backend_with(&Capabilities::volumes, "volume ls").volumes();
  if (session.options.json) {
    boost::json::array array;
    for (const VolumeInfo& volume : volumes) {
      boost::json::array used_by;
      for (const auto& id : volume.used_by) used_by.emplace_back(id);
      boost::json::object object{{"name", volume.name}, {"backend", volume.backend}, {"used_by", std::move(used_by)}};
      if (volume.created) object["created"] = format_time(*volume.created);
      array.emplace_back(std::move(object));
    }
    print_json(array);
    return 0;
  }
  std::vector<std::vector<std::string>> rows{{"NAME", "USED BY", "CREATED"}};
  for (const VolumeInfo& volume : volumes)
    rows.push_back({volume.name, volume.used_by.empty() ? "-" : joined(volume.used_by),
                    volume.created ? format_time(*volume.created) : "-"});
  print_table(rows);
  return 0;
}

int remove(Session& session, const std::vector<std::string>& names) {
  SandboxBackend& backend = session.backend_with(&Capabilities::volumes, "volume rm");
  return remove_each(names, [&](const std::string& name) { backend.remove_volume(name); });
}

}  // namespace

void register_volume_commands(CLI::App& app, Session& session, CommandTable& table) {
  CLI::App* volume = app.add_subcommand("volume", "persistent volumes of the backend (ls, rm)");
  volume->require_subcommand(1);
  CLI::App* list_command = volume->add_subcommand("ls", "list the persistent volumes and who uses them");
  table.add(list_command, [&session] { return list(session); });

  auto names = std::make_shared<std::vector<std::string>>();
  CLI::App* remove_command = volume->add_subcommand("rm", "delete volumes (not while a sandbox uses one); print their names");
  remove_command->add_option("NAME", *names, "volume names")->required();
  table.add(remove_command, [&session, names] { return remove(session, *names); });
}

}  // namespace hutch::cli
