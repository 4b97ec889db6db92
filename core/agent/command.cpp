#include "command.hpp"

#include "capabilities.hpp"
#include "user_lookup.hpp"

#include <grp.h>
#include <sys/prctl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <string>

extern char** environ;

namespace sbx::agent {
namespace {

[[noreturn]] void die(int code, const std::string& message) {
  std::string line = "sbx: " + message + "\n";
  (void)!::write(2, line.data(), line.size());
  ::_exit(code);
}

[[noreturn]] void die_errno(const std::string& what) { die(126, what + ": " + std::strerror(errno)); }

bool has_key(const std::vector<std::string>& env, const char* key) {
  std::size_t length = std::strlen(key);
  for (const auto& entry : env)
    if (entry.size() > length && entry.compare(0, length, key) == 0 && entry[length] == '=') return true;
  return false;
}

// `base` with each of `overrides` replacing the entry of the same key, or appended.
std::vector<std::string> merged_env(const std::vector<std::string>& base, const std::vector<std::string>& overrides) {
  if (base.empty()) return overrides;
  std::vector<std::string> env = base;
  for (const auto& entry : overrides) {
    std::string key = entry.substr(0, entry.find('=')) + "=";
    auto same = std::find_if(env.begin(), env.end(), [&](const std::string& e) { return e.starts_with(key); });
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
  if (policy.seccomp != nullptr && policy.seccomp->install() != 0)
    return std::string("install the seccomp filter: ") + std::strerror(errno);
  return {};
}

bool leader_confined() { return ::prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0) == 1; }

void run_command(const wire::ExecMessage& message, const CommandPolicy& policy, const PreparedUser* prepared) {
  // Its own session, so the command never shares a controlling terminal with the leader.
  ::setsid();

  const std::string& user_spec = message.user.empty() ? policy.default_user : message.user;
  ExecUser user;
  std::string error;
  if (!(prepared ? prepared->get(user_spec, user, error) : lookup_user(user_spec, user, error))) die(126, error);

  if (policy.can_setgroups && ::setgroups(user.groups.size(), user.groups.data()) != 0)
    die_errno("setgroups for user '" + user_spec + "'");
  if (::setresgid(user.gid, user.gid, user.gid) != 0)
    die_errno("setgid " + std::to_string(user.gid) + " (is it mapped into the sandbox?)");
  if (::setresuid(user.uid, user.uid, user.uid) != 0)
    die_errno("setuid " + std::to_string(user.uid) + " (is it mapped into the sandbox?)");
  if (limit_capabilities(policy.keep_caps) != 0) die_errno("limit capabilities");

  const std::string& cwd = message.cwd.empty() ? policy.default_cwd : message.cwd;
  if (::chdir(cwd.c_str()) != 0) die_errno("cannot change directory to " + cwd);

  std::vector<std::string> env = merged_env(policy.base_env, message.env);
  if (!has_key(env, "PATH")) env.emplace_back("PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin");
  if (!has_key(env, "HOME")) env.push_back("HOME=" + user.home);
  std::vector<char*> envp;
  for (auto& entry : env) envp.push_back(entry.data());
  envp.push_back(nullptr);
  std::vector<std::string> args = message.argv;
  std::vector<char*> argv;
  for (auto& arg : args) argv.push_back(arg.data());
  argv.push_back(nullptr);

  environ = envp.data();
  ::execvp(argv[0], argv.data());
  int err = errno;
  die(err == ENOENT ? 127 : 126, args[0] + ": " + std::strerror(err));
}

}  // namespace sbx::agent
