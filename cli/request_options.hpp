// A command in an existing sandbox, as exec and launch take it:
//   VERB [-e K=V]... [-w DIR] [-u USER] ID [--] CMD...
#pragma once

#include <hutch/types.hpp>

#include <CLI/CLI.hpp>

#include <optional>
#include <string>
#include <vector>

namespace hutch::cli {

struct RequestOptions {
  std::vector<std::string> env;
  std::optional<std::string> workdir;
  std::optional<std::string> user;
};

void add_request_options(CLI::App& command, RequestOptions& options);

// Sets env, cwd and user of `request`; a bad -e entry is Errc::invalid_argument naming --env.
void apply_request_options(const RequestOptions& options, ExecRequest& request);

// The command after ID without the "--" that CLI11 keeps when it follows ID (it separates, it
// is not part of the command); Errc::invalid_argument when nothing is left, unless `optional`.
std::vector<std::string> command_after_id(std::vector<std::string> argv, const std::string& verb, bool optional = false);

struct SandboxCommandOptions {
  RequestOptions request;
  std::string id;
  std::vector<std::string> argv;
};

// Adds the request options, then the ID and CMD positionals; everything after ID belongs to
// CMD, options included.
// CMD is optional when `command_optional` (launch: the image's entrypoint + cmd).
void add_sandbox_command(CLI::App& command, SandboxCommandOptions& options, bool command_optional = false);
// Sets argv (command_after_id, for `verb`'s messages), env, cwd and user of `request`. With
// `command_optional`, no command means the image's Entrypoint + Cmd (use_entrypoint).
void apply_sandbox_command(const SandboxCommandOptions& options, ExecRequest& request, const std::string& verb,
                           bool command_optional = false);

}  // namespace hutch::cli
