// The control protocol between the host and a sandbox's agent (PID 1: the subcontainer
// helper's leader, or hutch-agent in a container), shared by both sides. Header-only and free
// of Boost so the agent stays small.
//
// The host connects to the agent's unix socket and sends one exec request:
//   u32 payload length (host byte order), then the payload: NUL-terminated tokens "<k><value>"
//   where <k> is one char: 'a' argv element (in order), 'e' "K=V", 'c' cwd, 'u' user.
//   The first sendmsg carries three fds (SCM_RIGHTS): the command's stdin, stdout, stderr.
// A terminal request (ExecRequest::tty) has the token 't' "<cols>x<rows>" (its first size) and
// carries no fds: the agent makes the terminal in the sandbox's devpts (command_pty.hpp) and
// answers first, once the command is started,
//   "T\n"                with the terminal's master attached (SCM_RIGHTS)
// which is then the command's stdin and output on the host. The host resizes the terminal
// itself, with TIOCSWINSZ on the master it holds: no message, no round trip to the agent.
// The leader answers with lines on the same connection:
//   "S\n"                the command started and still runs 20 ms later (a command that ends
//                        sooner gets only "X"); either ends the host's start deadline
//   "X <wait status>\n"  the command ended (raw waitpid status)
//   "E <message>\n"      the command could not be started
//   "k\n"                a kill ("K 9") arrived and is being carried out: the sandbox runs
//                        (it is not paused), though ending a large tree may take a while
// The host may send, while the command runs:
//   "K <signal>\n"       signal the command's whole process tree
// Closing the connection before "X" kills the tree.
//
// A launch request (the sandbox's main command, Handle::launch) has the token 'l' and two
// more: 'g' the grace period in ms between SIGTERM and SIGKILL for the main command it
// replaces, 'm' the log limit in bytes. It carries four fds: stdin, the log, the rotated log
// (log.1) and the status file, all opened by the host outside the sandbox. The agent appends
// to the status file
//   "R <pid> <start unix ms>\n"        once the command runs (pid in the sandbox)
//   "X <wait status> <end unix ms>\n"  once it and everything it left running are gone
// and answers "S <pid>\n" (started) or "E <message>\n", then closes the connection: the
// main command does not depend on it.
//
// Two control requests carry no fds and no argv; the agent answers "X 0" and closes:
//   't'                      a touch: the host used the sandbox (a file operation), which
//                            counts as activity for the idle timeout (lifetime.hpp)
//   'L' "<ttl deadline unix ms> <idle timeout ms>"  the sandbox's lifetimes from now on
//                            (0: none)
//
// A connect request (Handle::connect_port) has only the token 'p' "<port>" and carries no fds:
// the agent connects to that TCP port on the sandbox's loopback, from inside the sandbox's
// network namespace (loopback_connect.hpp), and answers
//   "P\n"                with the connected socket attached (SCM_RIGHTS; fd_passing.hpp)
//   "E <message>\n"      nothing accepts there (the message names the port)
// then closes the control connection; the socket is the host's alone.
#pragma once

#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

namespace hutch::agent::wire {

inline constexpr char kArg = 'a';
inline constexpr char kEnv = 'e';
inline constexpr char kCwd = 'c';
inline constexpr char kUser = 'u';
inline constexpr char kLaunch = 'l';
inline constexpr char kStopGrace = 'g';
inline constexpr char kLogLimit = 'm';
inline constexpr char kTouch = 't';
inline constexpr char kLifetime = 'L';
inline constexpr char kTty = 'y';
inline constexpr char kConnect = 'p';
inline constexpr std::uint32_t kMaxPayload = 8u << 20;
inline constexpr const char* kSocketName = "ctl.sock";

struct ExecMessage {
  std::vector<std::string> argv;
  std::vector<std::string> env;
  std::string cwd;
  std::string user;
  bool launch = false;
  std::uint32_t stop_grace_ms = 10000;  // launch only
  std::uint64_t log_limit = 8u << 20;   // launch only
  bool touch = false;                   // a control request: activity only
  bool lifetime = false;                // a control request: the two fields below
  std::int64_t ttl_deadline_ms = 0;
  std::int64_t idle_timeout_ms = 0;
  bool tty = false;                     // not with launch
  std::uint16_t tty_cols = 0, tty_rows = 0;  // 0: 80x24
  std::uint32_t connect_port = 0;       // a connect request: the port (nothing else is sent)
};

inline bool is_control(const ExecMessage& message) { return message.touch || message.lifetime; }

// How many fds (SCM_RIGHTS) a request carries.
inline constexpr int kExecFds = 3;    // stdin, stdout, stderr
inline constexpr int kLaunchFds = 4;  // stdin, log, rotated log, status
inline constexpr int kTtyFds = 0;     // the agent makes the terminal
inline bool is_connect(const ExecMessage& message) { return message.connect_port != 0; }
inline int request_fd_count(const ExecMessage& message) {
  if (is_control(message) || is_connect(message)) return 0;
  return message.launch ? kLaunchFds : message.tty ? kTtyFds : kExecFds;
}

inline void append_token(std::string& out, char key, std::string_view value) {
  out.push_back(key);
  out.append(value);
  out.push_back('\0');
}

inline std::string encode(const ExecMessage& message) {
  std::string payload;
  if (is_connect(message)) {
    append_token(payload, kConnect, std::to_string(message.connect_port));
    return payload;
  }
  if (message.touch) append_token(payload, kTouch, "");
  if (message.lifetime)
    append_token(payload, kLifetime, std::to_string(message.ttl_deadline_ms) + " " + std::to_string(message.idle_timeout_ms));
  if (is_control(message)) return payload;
  for (const auto& arg : message.argv) append_token(payload, kArg, arg);
  for (const auto& entry : message.env) append_token(payload, kEnv, entry);
  append_token(payload, kCwd, message.cwd);
  append_token(payload, kUser, message.user);
  if (message.launch) {
    append_token(payload, kLaunch, "");
    append_token(payload, kStopGrace, std::to_string(message.stop_grace_ms));
    append_token(payload, kLogLimit, std::to_string(message.log_limit));
  }
  if (message.tty)
    append_token(payload, kTty, std::to_string(message.tty_cols) + "x" + std::to_string(message.tty_rows));
  return payload;
}

// False when the payload is malformed (an unterminated token or an unknown key).
inline bool decode(std::string_view payload, ExecMessage& message) {
  while (!payload.empty()) {
    auto end = payload.find('\0');
    if (end == std::string_view::npos || end == 0) return false;
    std::string value(payload.substr(1, end - 1));
    switch (payload[0]) {
      case kArg: message.argv.push_back(std::move(value)); break;
      case kEnv: message.env.push_back(std::move(value)); break;
      case kCwd: message.cwd = std::move(value); break;
      case kUser: message.user = std::move(value); break;
      case kLaunch: message.launch = true; break;
      case kStopGrace: message.stop_grace_ms = static_cast<std::uint32_t>(std::strtoul(value.c_str(), nullptr, 10)); break;
      case kLogLimit: message.log_limit = std::strtoull(value.c_str(), nullptr, 10); break;
      case kTouch: message.touch = true; break;
      case kLifetime: {
        char* rest = nullptr;
        message.lifetime = true;
        message.ttl_deadline_ms = std::strtoll(value.c_str(), &rest, 10);
        message.idle_timeout_ms = std::strtoll(rest, nullptr, 10);
        break;
      }
      case kTty: {
        char* end = nullptr;
        const unsigned long cols = std::strtoul(value.c_str(), &end, 10);
        if (end == nullptr || *end != 'x') return false;
        const unsigned long rows = std::strtoul(end + 1, nullptr, 10);
        if (cols > 0xffff || rows > 0xffff) return false;
        message.tty = true;
        message.tty_cols = static_cast<std::uint16_t>(cols);
        message.tty_rows = static_cast<std::uint16_t>(rows);
        break;
      }
      case kConnect: {
        char* end = nullptr;
        const unsigned long port = std::strtoul(value.c_str(), &end, 10);
        if (end == nullptr || *end != '\0' || port == 0 || port > 65535) return false;
        message.connect_port = static_cast<std::uint32_t>(port);
        break;
      }
      default: return false;
    }
    payload.remove_prefix(end + 1);
  }
  if (message.launch && message.tty) return false;
  // A connect request is that token alone.
  if (is_connect(message))
    return message.argv.empty() && message.env.empty() && !message.launch && !message.tty && !is_control(message);
  return !message.argv.empty() || is_control(message);
}

}  // namespace hutch::agent::wire
