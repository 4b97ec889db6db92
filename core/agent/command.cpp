#include "command.hpp"

#include "capabilities.hpp"
#include "seccomp_filter.hpp"
#include "user_lookup.hpp"

#include <grp.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <string>

namespace hutch::agent {
namespace {

[[noreturn]] void die(int code, const std::string& message) {
  std::string line = "hutch: " + message + "\n";
  (void)!::write(2, line.data(), line.size());
  ::_exit(code);
}

// A failure before the exec. The flag tells a shepherd that shares this process's memory
// that the strings made here were allocated in it and never freed.
[[noreturn]] void fail(volatile bool* failed_before_exec, int code, const std::string& message) {
  if (failed_before_exec) *failed_before_exec = true;
  die(code, message);
}

bool has_key(const std::vector<std::string>& env, const char* key) {
  std::size_t length = std::strlen(key);
  for (const auto& entry : env)
    if (entry.size() > length && entry.compare(0, length, key) == 0 && entry[length] == '=') return true;
  return false;
}

// `base` with each of `overrides` replacing the entry of the same key, or appended.
// An override without '=' removes that variable (the Docker Engine's convention, which
// Handle::set_env's unset uses).
std::vector<std::string> merged_env(const std::vector<std::string>& base, const std::vector<std::string>& overrides) {
  std::vector<std::string> env = base;
  for (const auto& entry : overrides) {
    const auto equals = entry.find('=');
    std::string key = entry.substr(0, equals) + "=";
    auto same = std::find_if(env.begin(), env.end(), [&](const std::string& e) { return e.starts_with(key); });
    if (equals == std::string::npos) {
      if (same != env.end()) env.erase(same);
      continue;
    }
    if (same != env.end())
      *same = entry;
    else
      env.push_back(entry);
  }
  return env;
}

}  // namespace

std::string confine_leader(const CommandPolicy& policy) {
  if (drop_bounding_set(policy.keep_caps) != 0)
    return std::string("drop the capability bounding set: ") + std::strerror(errno);
  if (::prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0)
    return std::string("set no_new_privs: ") + std::strerror(errno);
  if (policy.seccomp && install_default_seccomp_filter() != 0)
    return std::string("install the seccomp filter: ") + std::strerror(errno);
  return {};
}

bool leader_confined() { return ::prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0) == 1; }

void prepare_command(const wire::ExecMessage& message, const CommandPolicy& policy, const PreparedUser* user,
                     PreparedCommand& command) {
  command.user_spec = message.user.empty() ? policy.default_user : message.user;
  if (!(user ? user->get(command.user_spec, command.user, command.error)
             : lookup_user(command.user_spec, command.user, command.error)) &&
      command.error.empty())
    command.error = "cannot resolve user '" + command.user_spec + "'";
  command.cwd = message.cwd.empty() ? policy.default_cwd : message.cwd;
  command.tty = message.tty;

  command.env = merged_env(policy.base_env, message.env);
  if (!has_key(command.env, "PATH"))
    command.env.emplace_back("PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin");
  if (!has_key(command.env, "HOME")) command.env.push_back("HOME=" + command.user.home);
  command.envp.clear();
  for (auto& entry : command.env) command.envp.push_back(entry.data());
  command.envp.push_back(nullptr);
  command.args = message.argv;
  command.argv.clear();
  for (auto& arg : command.args) command.argv.push_back(arg.data());
  command.argv.push_back(nullptr);

  // As execvp does, but with the command's own PATH (not the shepherd's).
  command.candidates.clear();
  const std::string& program = command.args.empty() ? std::string() : command.args[0];
  if (program.find('/') != std::string::npos || program.empty()) {
    command.candidates.push_back(program);
    return;
  }
  std::string path;
  for (const auto& entry : command.env)
    if (entry.starts_with("PATH=")) path = entry.substr(5);
  std::size_t start = 0;
  while (true) {
    auto colon = path.find(':', start);
    std::string dir = path.substr(start, colon == std::string::npos ? std::string::npos : colon - start);
    command.candidates.push_back((dir.empty() ? std::string(".") : dir) + "/" + program);
    if (colon == std::string::npos) break;
    start = colon + 1;
  }
}

void exec_prepared(const PreparedCommand& command, const CommandPolicy& policy, volatile bool* failed_before_exec) {
  auto fail_errno = [&](const char* what, const std::string& detail) {
    int err = errno;
    fail(failed_before_exec, 126, what + detail + ": " + std::strerror(err));
  };
  // Its own session, so the command never shares a controlling terminal with the leader.
  ::setsid();
  // Raising a nice value needs no privilege; the command cannot lower it back.
  if (policy.command_nice && ::setpriority(PRIO_PROCESS, 0, *policy.command_nice) != 0)
    fail_errno("set the command's priority", "");
  // With a terminal, it is the session's controlling one: job control, ^C as SIGINT to the
  // foreground group, SIGHUP when the host's end closes.
  if (command.tty && ::ioctl(STDIN_FILENO, TIOCSCTTY, 0) != 0) fail_errno("make the terminal the controlling one", "");
  if (!command.error.empty()) fail(failed_before_exec, 126, command.error);
  const ExecUser& user = command.user;
  if (policy.can_setgroups && ::setgroups(user.groups.size(), user.groups.data()) != 0)
    fail_errno("setgroups for user ", "'" + command.user_spec + "'");
  if (::setresgid(user.gid, user.gid, user.gid) != 0)
    fail_errno("setgid ", std::to_string(user.gid) + " (is it mapped into the sandbox?)");
  if (::setresuid(user.uid, user.uid, user.uid) != 0)
    fail_errno("setuid ", std::to_string(user.uid) + " (is it mapped into the sandbox?)");
  if (limit_capabilities(policy.keep_caps) != 0) fail_errno("limit capabilities", "");
  if (::chdir(command.cwd.c_str()) != 0) fail_errno("cannot change directory to ", command.cwd);

  bool denied = false;
  int err = ENOENT;
  for (const auto& candidate : command.candidates) {
    ::execve(candidate.c_str(), command.argv.data(), command.envp.data());
    err = errno;
    if (err == EACCES) {
      denied = true;
    } else if (err != ENOENT && err != ENOTDIR && err != ESTALE && err != ENODEV && err != ETIMEDOUT) {
      break;
    }
  }
  if (denied && (err == ENOENT || err == ENOTDIR)) err = EACCES;
  const std::string program = command.args.empty() ? std::string() : command.args[0];
  fail(failed_before_exec, err == ENOENT ? 127 : 126, program + ": " + std::strerror(err));
}

void run_command(const wire::ExecMessage& message, const CommandPolicy& policy) {
  PreparedCommand command;
  prepare_command(message, policy, nullptr, command);
  exec_prepared(command, policy);
}

}  // namespace hutch::agent
