// `hutch cp SRC DST`: exactly one side names a sandbox as ID:/path.
#include "command.hpp"
#include "host_copy.hpp"
#include "sandbox_lookup.hpp"

#include <hutch/backend.hpp>
#include <hutch/error.hpp>

#include <memory>
#include <optional>

namespace hutch::cli {

namespace {

struct CopyEndpoint {
  std::optional<std::string> sandbox_id;  // unset: a host path
  std::string path;
};

// "ID:/path" is a sandbox path: an id without '/' before the first ':'. Anything else is a
// host path (write "./a:b" for a host file whose name has a colon).
CopyEndpoint parse_endpoint(const std::string& text) {
  const auto colon = text.find(':');
  if (colon == std::string::npos || colon == 0 || text.substr(0, colon).find('/') != std::string::npos)
    return {std::nullopt, text};
  CopyEndpoint endpoint{text.substr(0, colon), text.substr(colon + 1)};
  if (!endpoint.path.starts_with('/'))
    throw Error(Errc::invalid_argument, "cp: the sandbox path in '" + text +
                                            "' must be absolute (write ID:/path)");
  return endpoint;
}

int copy(Session& session, const std::string& source_text, const std::string& destination_text, bool follow_links) {
  const CopyEndpoint source = parse_endpoint(source_text);
  const CopyEndpoint destination = parse_endpoint(destination_text);
  if (source.sandbox_id.has_value() == destination.sandbox_id.has_value())
    throw Error(Errc::invalid_argument,
                "cp: exactly one of '" + source_text + "' and '" + destination_text +
                    "' must name a sandbox path as ID:/path");
  if (source.path.empty() || destination.path.empty())
    throw Error(Errc::invalid_argument, "cp: empty path");

  if (destination.sandbox_id) {
    auto sandbox = find_sandbox(session, *destination.sandbox_id).handle;
    copy_host_to_sandbox(source.path, sandbox->fs(), destination.path);
  } else {
    auto sandbox = find_sandbox(session, *source.sandbox_id).handle;
    copy_sandbox_to_host(sandbox->fs(), source.path, destination.path, follow_links);
  }
  return 0;
}

struct CopyOptions {
  std::string source;
  std::string destination;
  bool follow_links = false;
};

}  // namespace

void register_cp_command(CLI::App& app, Session& session, CommandTable& table) {
  auto options = std::make_shared<CopyOptions>();
  CLI::App* command = app.add_subcommand(
      "cp", "copy files or directories between the host and a sandbox (one side is ID:/path)");
  command->add_flag("-L,--follow-link", options->follow_links,
                    "out of a sandbox: copy every symlink as what it points to (inside the sandbox)");
  command->add_option("SRC", options->source, "host path or ID:/path")->required();
  command->add_option("DST", options->destination, "host path or ID:/path")->required();
  table.add(command, [&session, options] { return copy(session, options->source, options->destination, options->follow_links); });
}

}  // namespace hutch::cli
