// The command vocabulary of the conformance suite. Each test asks for a behaviour
// ("exit with 3", "print to stderr") and gets the argv that produces it in the sandbox under
// test: a POSIX flavour for real sandboxes (busybox or a host image: sh, echo, cat, sleep,
// pwd, yes, head and the shell's kill) and a fake flavour for the fake backend's built-ins.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace hutch::conformance {

using Argv = std::vector<std::string>;

enum class Flavour { posix, fake };

class Commands {
 public:
  explicit Commands(Flavour flavour = Flavour::posix) : flavour_(flavour) {}
  // "posix" or "fake"; throws Error(invalid_argument) otherwise.
  static Commands parse(const std::string& name);

  Flavour flavour() const { return flavour_; }

  Argv print_stdout(const std::string& text) const;   // text + "\n" on stdout
  Argv print_stderr(const std::string& text) const;   // text + "\n" on stderr
  Argv exit_with(int code) const;
  Argv sleep(int seconds) const;
  // "tick\n" on stdout every half second, `lines` times, then exits 0. Posix only.
  Argv tick(int lines) const;
  Argv cat_stdin() const;                             // stdin to stdout
  Argv cat_file(const std::string& path) const;
  Argv flood(std::uint64_t bytes) const;              // `bytes` bytes of "y\n" on stdout
  Argv kill_self(int signal) const;                   // ends by `signal`
  Argv print_env(const std::string& key) const;       // the value + "\n"
  Argv print_cwd() const;                             // the working directory + "\n"
  Argv missing_command() const;                       // a command that does not exist
  Argv make_fifo(const std::string& path) const;      // a named pipe at `path`
  // Starts `count` background processes one by one, prints "started <count>" once all run,
  // then ends them. A shell whose fork fails stops there (non-zero, no "started" line).
  Argv start_processes(int count) const;
  // Accepts one TCP connection on `port` (all addresses): writes `greeting` + "\n" to it and
  // copies what it receives to stdout. Posix only (busybox nc; the fake has no network).
  Argv serve_once(int port, const std::string& greeting) const;
  // Runs until SIGTERM; then writes "bye\n" to `done` and exits 0. Writes `ready` once it
  // catches SIGTERM.
  Argv on_term_write(const std::string& ready, const std::string& done) const;
  // Writes `ready` and runs on, ignoring SIGTERM (a child of it too): only SIGKILL ends it.
  Argv ignore_term(const std::string& ready) const;
  // For each line on stdin until "q": "tty <rows> <cols>\n" when stdin and stdout are a
  // terminal, of that size. Posix only.
  Argv terminal_sizes() const;

 private:
  Flavour flavour_;
};

}  // namespace hutch::conformance
