// hutch serve: runs the service. The service is its own program (libexec/hutch/hutch-server,
// see server/main.cpp for why), which this verb execs with the global options and every
// argument after `serve`, so `hutch` itself never loads Beast or OpenSSL.
#include "command.hpp"

#include <hutch/error.hpp>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <unistd.h>

namespace hutch::cli {

namespace {

std::filesystem::path server_program() {
  std::error_code ec;
  const auto self = std::filesystem::read_symlink("/proc/self/exe", ec);
  if (ec) throw Error(Errc::io, "cannot find the hutch program's own path: " + ec.message());
  return self.parent_path().parent_path() / "libexec" / "hutch" / "hutch-server";
}

}  // namespace

void register_serve_command(CLI::App& app, Session& session, CommandTable& table) {
  auto* command = app.add_subcommand(
      "serve", "run the sandbox service: the HTTP API /v1 on a Unix socket or loopback TCP "
               "(options: hutch serve --help)");
  // Everything after `serve` is the service's own (--listen, --tokens-file, --help).
  command->prefix_command();
  command->set_help_flag();  // `hutch serve --help` is the service's own help
  table.add(command, [command, &session] {
    const std::filesystem::path program = server_program();
    std::vector<std::string> args{program.string()};
    if (session.options.config_file) args.insert(args.end(), {"--config", *session.options.config_file});
    if (session.options.log_level) args.insert(args.end(), {"--log-level", *session.options.log_level});
    for (const std::string& arg : command->remaining()) args.push_back(arg);
    std::vector<char*> argv;
    for (std::string& arg : args) argv.push_back(arg.data());
    argv.push_back(nullptr);
    ::execv(program.c_str(), argv.data());
    throw Error(errno == ENOENT ? Errc::not_found : Errc::io,
                "cannot run the service program " + program.string() + ": " + std::strerror(errno));
    return 0;
  });
}

}  // namespace hutch::cli
