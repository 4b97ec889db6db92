// `hutch backends`: every backend hutch can see — the configured default, each [backends.X]
// table, --backend, and every hutch-*.so in the plugin search path — loaded one by one. A plugin
// that fails to load is listed with its error; that is what this verb is for.
#include "command.hpp"
#include "output.hpp"

#include <hutch/error.hpp>
#include <hutch/loader.hpp>
#include <hutch/log.hpp>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <optional>
#include <sstream>

namespace hutch::cli {

namespace {

namespace fs = std::filesystem;

constexpr std::string_view kPluginPrefix = "hutch-";
constexpr std::string_view kPluginSuffix = ".so";

std::vector<fs::path> plugin_directories(const Config& config) {
  std::vector<fs::path> directories(config.plugin_paths.begin(), config.plugin_paths.end());
  if (const char* env = std::getenv("HUTCH_PLUGIN_PATH")) {
    std::stringstream entries(env);
    for (std::string entry; std::getline(entries, entry, ':');)
      if (!entry.empty()) directories.emplace_back(entry);
  }
  directories.push_back(plugin_install_dir());
  return directories;
}

// Backend names of the hutch-<name>.so files in `directory` (none if it does not exist).
std::vector<std::string> plugins_in(const fs::path& directory) {
  std::vector<std::string> names;
  std::error_code error;
  for (fs::directory_iterator it(directory, error), end; !error && it != end; it.increment(error)) {
    const std::string file = it->path().filename().string();
    if (file.size() > kPluginPrefix.size() + kPluginSuffix.size() && file.starts_with(kPluginPrefix) &&
        file.ends_with(kPluginSuffix))
      names.push_back(file.substr(kPluginPrefix.size(), file.size() - kPluginPrefix.size() - kPluginSuffix.size()));
  }
  std::sort(names.begin(), names.end());
  return names;
}

struct BackendReport {
  std::string name;  // as given: a name, or a path
  bool is_default = false;
  std::string file;
  std::optional<Capabilities> capabilities;
  std::vector<std::string> warnings;  // SandboxBackend::warnings, or why they could not be read
  std::string error;
};

BackendReport probe(const Config& config, const std::string& name, bool is_default) {
  BackendReport report{name, is_default, {}, {}, {}, {}};
  try {
    report.file = find_plugin(name, PluginSearch{config.plugin_paths}).string();
    auto backend = open_backend(config, name, logger());
    report.capabilities = backend->capabilities();
    try {
      report.warnings = backend->warnings();
    } catch (const Error& error) {
      // The plugin loads; only its engine is out of reach, which is worth saying too.
      report.warnings.push_back(std::string("could not check the backend's isolation: ") + error.what());
    }
  } catch (const Error& error) {
    report.error = error.what();
  }
  return report;
}

int list_backends(Session& session) {
  const Config& config = session.config();
  const std::string selected = session.backend_name();

  std::vector<std::string> names{selected};
  auto add = [&names](const std::string& name) {
    if (std::find(names.begin(), names.end(), name) == names.end()) names.push_back(name);
  };
  add(config.backend);
  for (const auto& [name, table] : config.backends) add(name);
  for (const fs::path& directory : plugin_directories(config))
    for (const std::string& name : plugins_in(directory)) add(name);

  std::vector<BackendReport> reports;
  for (const std::string& name : names) reports.push_back(probe(config, name, name == selected));

  if (session.options.json) {
    boost::json::array array;
    for (const BackendReport& report : reports) {
      boost::json::object object{{"name", report.name},
                                 {"default", report.is_default},
                                 {"file", report.file.empty() ? boost::json::value(nullptr)
                                                              : boost::json::value(report.file)}};
      if (report.capabilities)
        object["capabilities"] = to_json(*report.capabilities);
      else
        object["capabilities"] = nullptr;
      boost::json::array warnings;
      for (const std::string& warning : report.warnings) warnings.emplace_back(warning);
      object["warnings"] = std::move(warnings);
      object["error"] = report.error.empty() ? boost::json::value(nullptr) : boost::json::value(report.error);
      array.emplace_back(std::move(object));
    }
    print_json(array);
    return 0;
  }
  std::vector<std::vector<std::string>> rows{{"NAME", "DEFAULT", "STATUS", "DETAILS"}};
  for (const BackendReport& report : reports)
    rows.push_back({report.name, report.is_default ? "*" : "", report.capabilities ? "ok" : "error",
                    report.capabilities ? describe(*report.capabilities) + " (" + report.file + ")"
                                        : report.error});
  print_table(rows);
  // On stderr, like every warning: stdout stays the table that scripts read.
  for (const BackendReport& report : reports)
    for (const std::string& warning : report.warnings) std::cerr << "warning: " << report.name << ": " << warning << "\n";
  return 0;
}

}  // namespace

void register_backends_command(CLI::App& app, Session& session, CommandTable& table) {
  CLI::App* command = app.add_subcommand("backends", "list the backends hutch finds and what they can do");
  table.add(command, [&session] { return list_backends(session); });
}

}  // namespace hutch::cli
