#include "commands.hpp"

#include "tree_fs.hpp"

#include <hutch/error.hpp>

#include <sys/stat.h>

#include <cerrno>
#include <charconv>
#include <cstring>
#include <functional>
#include <map>

namespace hutch::fake {
namespace {

using Args = std::vector<std::string>;
using Builtin = std::function<CommandOutcome(const Args&, const CommandContext&, CommandIo&)>;

std::string join(const Args& args, std::size_t first) {
  std::string out;
  for (std::size_t i = first; i < args.size(); ++i) {
    if (i > first) out += ' ';
    out += args[i];
  }
  return out;
}

template <class Number>
std::optional<Number> parse_number(const std::string& text) {
  Number value{};
  auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (error != std::errc() || end != text.data() + text.size()) return std::nullopt;
  return value;
}

CommandOutcome usage_error(CommandIo& io, const std::string& message) {
  io.write(StreamId::stderr_stream, message + "\n");
  return {2, 0};
}

std::string absolute_in(const std::string& cwd, const std::string& path) {
  if (!path.empty() && path.front() == '/') return path;
  return cwd == "/" ? "/" + path : cwd + "/" + path;
}

CommandOutcome echo(const Args& args, const CommandContext&, CommandIo& io) {
  io.write(StreamId::stdout_stream, join(args, 1) + "\n");
  return {};
}

CommandOutcome cat(const Args& args, const CommandContext& context, CommandIo& io) {
  if (args.size() == 1) {
    while (auto chunk = io.read_stdin()) io.write(StreamId::stdout_stream, *chunk);
    return {};
  }
  int status = 0;
  for (std::size_t i = 1; i < args.size(); ++i) {
    try {
      context.fs->read_stream(absolute_in(context.cwd, args[i]), [&](std::string_view chunk) {
        io.write(StreamId::stdout_stream, chunk);
        return true;
      });
    } catch (const Error& e) {
      io.write(StreamId::stderr_stream, "cat: " + args[i] + ": " + e.what() + "\n");
      status = 1;
    }
  }
  return {status, 0};
}

// mkfifo PATH...: a named pipe in the sandbox's tree, for the tests of files that are not
// regular ones.
CommandOutcome mkfifo(const Args& args, const CommandContext& context, CommandIo& io) {
  auto* tree = dynamic_cast<TreeFs*>(context.fs);
  if (args.size() < 2 || tree == nullptr) return usage_error(io, "mkfifo: usage: mkfifo PATH...");
  int status = 0;
  for (std::size_t i = 1; i < args.size(); ++i) {
    try {
      if (::mkfifo(tree->resolve(absolute_in(context.cwd, args[i]), false).c_str(), 0644) != 0)
        throw Error(Errc::io, std::strerror(errno));
    } catch (const Error& e) {
      io.write(StreamId::stderr_stream, "mkfifo: " + args[i] + ": " + e.what() + "\n");
      status = 1;
    }
  }
  return {status, 0};
}

CommandOutcome exit_with(const Args& args, const CommandContext&, CommandIo& io) {
  if (args.size() != 2) return usage_error(io, "exit: usage: exit N");
  auto code = parse_number<int>(args[1]);
  if (!code) return usage_error(io, "exit: not a number: " + args[1]);
  return {*code & 0xff, 0};
}

CommandOutcome sleep(const Args& args, const CommandContext&, CommandIo& io) {
  if (args.size() != 2) return usage_error(io, "sleep: usage: sleep SECONDS");
  auto seconds = parse_number<double>(args[1]);
  if (!seconds || *seconds < 0) return usage_error(io, "sleep: invalid time: " + args[1]);
  io.sleep_for(std::chrono::duration<double>(*seconds));
  return {};
}

CommandOutcome kill_self(const Args& args, const CommandContext&, CommandIo& io) {
  if (args.size() != 2) return usage_error(io, "kill-self: usage: kill-self SIGNAL");
  auto signal = parse_number<int>(args[1]);
  if (!signal || *signal < 1 || *signal > 64)
    return usage_error(io, "kill-self: invalid signal: " + args[1]);
  return {-1, *signal};
}

CommandOutcome yes_flood(const Args& args, const CommandContext&, CommandIo& io) {
  if (args.size() != 2) return usage_error(io, "yes-flood: usage: yes-flood BYTES");
  auto bytes = parse_number<std::uint64_t>(args[1]);
  if (!bytes) return usage_error(io, "yes-flood: invalid byte count: " + args[1]);
  static const std::string pattern = [] {
    std::string block;
    for (int i = 0; i < 32 * 1024; ++i) block += "y\n";
    return block;
  }();
  for (std::uint64_t left = *bytes; left > 0;) {
    std::size_t size = static_cast<std::size_t>(std::min<std::uint64_t>(left, pattern.size()));
    io.write(StreamId::stdout_stream, std::string_view(pattern).substr(0, size));
    left -= size;
  }
  return {};
}

CommandOutcome printenv(const Args& args, const CommandContext& context, CommandIo& io) {
  if (args.size() == 1) {
    for (const auto& [key, value] : context.env)
      io.write(StreamId::stdout_stream, key + "=" + value + "\n");
    return {};
  }
  int status = 0;
  for (std::size_t i = 1; i < args.size(); ++i) {
    auto found = context.env.find(args[i]);
    if (found == context.env.end()) {
      status = 1;
      continue;
    }
    io.write(StreamId::stdout_stream, found->second + "\n");
  }
  return {status, 0};
}

CommandOutcome pwd(const Args&, const CommandContext& context, CommandIo& io) {
  io.write(StreamId::stdout_stream, context.cwd + "\n");
  return {};
}

// Writes `path` in the sandbox's tree, for on-term and ignore-term.
void write_file(const CommandContext& context, const std::string& path, const std::string& text) {
  context.fs->write(absolute_in(context.cwd, path), text);
}

CommandOutcome on_term(const Args& args, const CommandContext& context, CommandIo& io) {
  if (args.size() != 3) return usage_error(io, "on-term: usage: on-term READY DONE");
  io.ignore_term();  // from here on, until it waits for it
  write_file(context, args[1], "\n");
  while (!io.wait_for_term(std::chrono::hours(1))) {
  }
  write_file(context, args[2], "bye\n");
  return {};
}

CommandOutcome ignore_term(const Args& args, const CommandContext& context, CommandIo& io) {
  if (args.size() != 2) return usage_error(io, "ignore-term: usage: ignore-term READY");
  io.ignore_term();
  write_file(context, args[1], "\n");
  for (;;) io.sleep_for(std::chrono::hours(1));
}

CommandOutcome print_stderr(const Args& args, const CommandContext&, CommandIo& io) {
  io.write(StreamId::stderr_stream, join(args, 1) + "\n");
  return {};
}

const std::map<std::string, Builtin, std::less<>>& builtins() {
  static const std::map<std::string, Builtin, std::less<>> table{
      {"echo", echo},           {"cat", cat},           {"exit", exit_with},
      {"sleep", sleep},         {"kill-self", kill_self}, {"yes-flood", yes_flood},
      {"printenv", printenv},   {"pwd", pwd},           {"stderr", print_stderr},
      {"mkfifo", mkfifo},       {"on-term", on_term},   {"ignore-term", ignore_term},
  };
  return table;
}

}  // namespace

CommandOutcome run_command(const Args& argv, const CommandContext& context, CommandIo& io) {
  auto found = builtins().find(argv.at(0));
  if (found == builtins().end()) {
    io.write(StreamId::stderr_stream, "fake: command not found: " + argv[0] + "\n");
    return {127, 0};
  }
  return found->second(argv, context, io);
}

}  // namespace hutch::fake
