#include "request_options.hpp"

#include "command.hpp"

#include <hutch/error.hpp>
#include <hutch/spec.hpp>

namespace hutch::cli {

void add_request_options(CLI::App& command, RequestOptions& options) {
  command.add_option("-e,--env", options.env, "environment variable K=V (repeatable)")->allow_extra_args(false);
  command.add_option("-w,--workdir", options.workdir, "working directory");
  command.add_option("-u,--user", options.user, "user: name, uid or uid:gid");
}

void apply_request_options(const RequestOptions& options, ExecRequest& request) {
  for (const auto& entry : options.env) {
    try {
      auto [key, value] = parse_key_value(entry, "environment variable");
      request.env[key] = value;
    } catch (const Error& error) {
      throw Error(error.code(), std::string("--env: ") + error.what());
    }
  }
  if (options.workdir) request.cwd = *options.workdir;
  if (options.user) request.user = *options.user;
}

std::vector<std::string> command_after_id(std::vector<std::string> argv, const std::string& verb, bool optional) {
  if (!argv.empty() && argv.front() == "--") argv.erase(argv.begin());
  if (argv.empty() && !optional) throw Error(Errc::invalid_argument, verb + ": no command given after the sandbox id");
  return argv;
}

void add_sandbox_command(CLI::App& command, SandboxCommandOptions& options, bool command_optional) {
  add_request_options(command, options.request);
  add_id_argument(command, options.id);
  auto* cmd = command.add_option("CMD", options.argv,
                                 command_optional ? "the command and its arguments; default: the image's Entrypoint + Cmd"
                                                  : "the command and its arguments");
  if (!command_optional) cmd->required();
  command.positionals_at_end();
}

void apply_sandbox_command(const SandboxCommandOptions& options, ExecRequest& request, const std::string& verb,
                           bool command_optional) {
  request.argv = command_after_id(options.argv, verb, command_optional);
  request.use_entrypoint = request.argv.empty();
  apply_request_options(options.request, request);
}

}  // namespace hutch::cli
