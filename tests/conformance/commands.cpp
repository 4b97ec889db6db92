#include "commands.hpp"

#include <hutch/error.hpp>

#include <algorithm>
#include <cctype>

namespace hutch::conformance {

Commands Commands::parse(const std::string& name) {
  if (name == "posix") return Commands(Flavour::posix);
  if (name == "fake") return Commands(Flavour::fake);
  throw Error(Errc::invalid_argument,
              "unknown command flavour '" + name + "' (expected 'posix' or 'fake')");
}

Argv Commands::print_stdout(const std::string& text) const { return {"echo", text}; }

Argv Commands::print_stderr(const std::string& text) const {
  if (flavour_ == Flavour::fake) return {"stderr", text};
  return {"sh", "-c", "echo \"$0\" >&2", text};
}

Argv Commands::exit_with(int code) const {
  if (flavour_ == Flavour::fake) return {"exit", std::to_string(code)};
  return {"sh", "-c", "exit " + std::to_string(code)};
}

Argv Commands::sleep(int seconds) const { return {"sleep", std::to_string(seconds)}; }

Argv Commands::tick(int lines) const {
  return {"sh", "-c", "i=0; while [ $i -lt " + std::to_string(lines) + " ]; do echo tick; sleep 0.5; i=$((i+1)); done"};
}

Argv Commands::cat_stdin() const { return {"cat"}; }

Argv Commands::terminal_sizes() const {
  return {"sh", "-c",
          "while IFS= read -r line && [ \"$line\" != q ]; do test -t 0 && test -t 1 && echo \"tty $(stty size)\"; done"};
}

Argv Commands::cat_file(const std::string& path) const { return {"cat", path}; }

Argv Commands::flood(std::uint64_t bytes) const {
  if (flavour_ == Flavour::fake) return {"yes-flood", std::to_string(bytes)};
  return {"sh", "-c", "yes | head -c " + std::to_string(bytes)};
}

Argv Commands::kill_self(int signal) const {
  if (flavour_ == Flavour::fake) return {"kill-self", std::to_string(signal)};
  return {"sh", "-c", "kill -" + std::to_string(signal) + " $$"};
}

Argv Commands::print_env(const std::string& key) const {
  if (flavour_ == Flavour::fake) return {"printenv", key};
  // Not `printenv`: busybox builds without that applet are common.
  bool identifier = !key.empty() && !std::isdigit(static_cast<unsigned char>(key[0])) &&
                    std::all_of(key.begin(), key.end(), [](char c) {
                      return std::isalnum(static_cast<unsigned char>(c)) || c == '_';
                    });
  if (!identifier)
    throw Error(Errc::invalid_argument, "print_env: '" + key + "' is not a shell variable name");
  return {"sh", "-c", "printf '%s\\n' \"$" + key + "\""};
}

Argv Commands::print_cwd() const { return {"pwd"}; }

Argv Commands::on_term_write(const std::string& ready, const std::string& done) const {
  if (flavour_ == Flavour::fake) return {"on-term", ready, done};
  // The sleep gets SIGTERM too and ends; the trap runs once the shell's foreground child is gone.
  return {"sh", "-c", "trap 'echo bye > \"$1\"; exit 0' TERM; echo > \"$0\"; while :; do sleep 1; done", ready, done};
}

Argv Commands::ignore_term(const std::string& ready) const {
  if (flavour_ == Flavour::fake) return {"ignore-term", ready};
  // An ignored signal stays ignored across exec: the sleep ignores it too.
  return {"sh", "-c", "trap '' TERM; echo > \"$0\"; sleep 3600", ready};
}

Argv Commands::missing_command() const { return {"hutch-conformance-no-such-command"}; }

Argv Commands::make_fifo(const std::string& path) const { return {"mkfifo", path}; }

Argv Commands::start_processes(int count) const {
  if (flavour_ == Flavour::fake) throw Error(Errc::unsupported, "start_processes: the fake backend runs no processes");
  // The sleeps' output goes to /dev/null so that the command's end does not wait for them.
  return {"sh", "-c",
          "pids=; i=0; while [ $i -lt " + std::to_string(count) +
              " ]; do sleep 30 >/dev/null 2>&1 & pids=\"$pids $!\"; i=$((i+1)); done; echo started $i; kill $pids"};
}

Argv Commands::serve_once(int port, const std::string& greeting) const {
  if (flavour_ == Flavour::fake) throw Error(Errc::unsupported, "serve_once: the fake backend has no network");
  // The greeting, then stdin held open a while so nc reads the peer to its end.
  return {"sh", "-c", "{ echo \"$1\"; sleep 2; } | busybox nc -l -p \"$0\"", std::to_string(port), greeting};
}

}  // namespace hutch::conformance
