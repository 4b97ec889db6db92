// A sandbox's main command: `hutch launch` starts (or replaces) it, `hutch logs` shows its output.
// Both check the owning backend's launch capability first (sandbox_lookup.hpp).
#include "command.hpp"
#include "output.hpp"
#include "request_options.hpp"
#include "sandbox_lookup.hpp"

#include <hutch/backend.hpp>
#include <hutch/error.hpp>
#include <hutch/spec.hpp>

#include <iostream>
#include <memory>

namespace hutch::cli {

namespace {

int launch(Session& session, const SandboxCommandOptions& options) {
  ExecRequest request;
  apply_sandbox_command(options, request, "launch", true);
  validate_launch(request);
  const MainCommandInfo main = find_sandbox_with(session, options.id, &Capabilities::launch, "launch").handle->launch(request);
  if (session.options.json)
    print_json(to_json(main));
  else
    std::cout << main.pid << '\n';
  return 0;
}

int logs(Session& session, const std::string& id, bool follow) {
  auto sandbox = find_sandbox_with(session, id, &Capabilities::launch, "logs").handle;
  sandbox->logs(
      [follow](std::string_view chunk) {
        std::cout.write(chunk.data(), static_cast<std::streamsize>(chunk.size()));
        if (follow) std::cout.flush();
        return static_cast<bool>(std::cout);
      },
      follow);
  std::cout.flush();
  return 0;
}

}  // namespace

void register_launch_commands(CLI::App& app, Session& session, CommandTable& table) {
  auto launch_options = std::make_shared<SandboxCommandOptions>();
  CLI::App* launch_command = app.add_subcommand(
      "launch", "start CMD (default: the image's Entrypoint + Cmd) as the sandbox's main command (replacing the "
                "running one) and print its pid");
  add_sandbox_command(*launch_command, *launch_options, true);
  table.add(launch_command, [&session, launch_options] { return launch(session, *launch_options); });

  auto logs_id = std::make_shared<std::string>();
  auto follow = std::make_shared<bool>(false);
  CLI::App* logs_command = app.add_subcommand("logs", "print the output of the sandbox's main command");
  logs_command->add_flag("-f,--follow", *follow, "keep printing new output until the main command ends");
  add_id_argument(*logs_command, *logs_id);
  table.add(logs_command, [&session, logs_id, follow] { return logs(session, *logs_id, *follow); });
}

}  // namespace hutch::cli
