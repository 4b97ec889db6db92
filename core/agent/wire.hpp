// The control protocol between the host and a sandbox's agent (PID 1: the subcontainer
// helper's leader, or sbx-agent in a container), shared by both sides. Header-only and free
// of Boost so the agent stays small.
//
// The host connects to the agent's unix socket and sends one exec request:
//   u32 payload length (host byte order), then the payload: NUL-terminated tokens "<k><value>"
//   where <k> is one char: 'a' argv element (in order), 'e' "K=V", 'c' cwd, 'u' user.
//   The first sendmsg carries three fds (SCM_RIGHTS): the command's stdin, stdout, stderr.
// The leader answers with lines on the same connection:
//   "X <wait status>\n"  the command ended (raw waitpid status)
//   "E <message>\n"      the command could not be started
// The host may send, while the command runs:
//   "K <signal>\n"       signal the command's whole process tree
// Closing the connection before "X" kills the tree.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace sbx::agent::wire {

inline constexpr char kArg = 'a';
inline constexpr char kEnv = 'e';
inline constexpr char kCwd = 'c';
inline constexpr char kUser = 'u';
inline constexpr std::uint32_t kMaxPayload = 8u << 20;
inline constexpr const char* kSocketName = "ctl.sock";

struct ExecMessage {
  std::vector<std::string> argv;
  std::vector<std::string> env;
  std::string cwd;
  std::string user;
};

inline void append_token(std::string& out, char key, std::string_view value) {
  out.push_back(key);
  out.append(value);
  out.push_back('\0');
}

inline std::string encode(const ExecMessage& message) {
  std::string payload;
  for (const auto& arg : message.argv) append_token(payload, kArg, arg);
  for (const auto& entry : message.env) append_token(payload, kEnv, entry);
  append_token(payload, kCwd, message.cwd);
  append_token(payload, kUser, message.user);
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
      default: return false;
    }
    payload.remove_prefix(end + 1);
  }
  return !message.argv.empty();
}

}  // namespace sbx::agent::wire
