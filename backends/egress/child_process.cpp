#include "child_process.hpp"

#include "agent/unique_fd.hpp"

#include <hutch/error.hpp>

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <fstream>
#include <sstream>

namespace hutch::egress {

using agent::UniqueFd;

pid_t spawn_process(const std::filesystem::path& executable, const std::vector<std::string>& args,
                    const std::vector<std::string>& environment, const std::vector<int>& fds, const std::string& what) {
  // A source below fds.size() could be overwritten by an earlier dup2 of the child's, and a
  // dup2 onto itself would keep close-on-exec: such sources are copied above that range first.
  const auto first_free = static_cast<int>(fds.size());
  std::vector<UniqueFd> copies;
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  for (int target = 0; target < first_free; ++target) {
    int source = fds[static_cast<std::size_t>(target)];
    if (source < 0) {
      posix_spawn_file_actions_addopen(&actions, target, "/dev/null", O_RDWR, 0);
      continue;
    }
    if (source < first_free) {
      UniqueFd copy(::fcntl(source, F_DUPFD_CLOEXEC, first_free));
      if (!copy) {
        const int err = errno;
        posix_spawn_file_actions_destroy(&actions);
        throw_system_error(what + ": duplicate a descriptor for " + executable.string(), err);
      }
      source = copy.get();
      copies.push_back(std::move(copy));
    }
    posix_spawn_file_actions_adddup2(&actions, source, target);
  }
  posix_spawnattr_t attributes;
  posix_spawnattr_init(&attributes);
  sigset_t no_signals, default_signals;
  sigemptyset(&no_signals);
  sigfillset(&default_signals);
  posix_spawnattr_setsigmask(&attributes, &no_signals);
  posix_spawnattr_setsigdefault(&attributes, &default_signals);
  posix_spawnattr_setflags(&attributes, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSID);
  // A subcontainer leader keeps the helper's command line, which every process in the sandbox
  // can read (/proc/1/cmdline): no host path goes there (argv[0] is the bare file name).
  // Nothing of the host's own environment is handed over.
  std::string path = executable.string();
  std::string name = executable.filename().string();
  std::vector<std::string> arguments = args;
  std::vector<char*> argv{name.data()};
  for (auto& argument : arguments) argv.push_back(argument.data());
  argv.push_back(nullptr);
  std::vector<std::string> variables = environment;
  std::vector<char*> envp;
  for (auto& variable : variables) envp.push_back(variable.data());
  envp.push_back(nullptr);
  pid_t pid = -1;
  const int rc = ::posix_spawn(&pid, path.c_str(), &actions, &attributes, argv.data(), envp.data());
  posix_spawn_file_actions_destroy(&actions);
  posix_spawnattr_destroy(&attributes);
  if (rc != 0) throw_system_error(what + ": start " + path, rc);
  return pid;
}

ExitingChild& ExitingChild::operator=(ExitingChild&& other) noexcept {
  if (this != &other) {
    reap();
    pid_ = std::exchange(other.pid_, -1);
  }
  return *this;
}

int ExitingChild::reap() {
  if (pid_ <= 0) return 0;
  int status = 0;
  while (::waitpid(pid_, &status, 0) < 0 && errno == EINTR) {
  }
  pid_ = -1;
  return status;
}


std::uint64_t process_start_time(pid_t pid) {
  if (pid <= 0) return 0;
  std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
  // Through rdbuf(), not istreambuf_iterator: a /proc file of a process that exits meanwhile
  // fails to read (ESRCH), and the iterator throws where rdbuf() only sets failbit.
  std::stringstream text_read;
  text_read << in.rdbuf();
  std::string text = text_read.str();
  auto paren = text.rfind(')');
  if (paren == std::string::npos) return 0;
  std::istringstream fields(text.substr(paren + 2));
  std::string field;
  std::string state;
  if (!(fields >> state) || state == "Z" || state == "X") return 0;  // a dead leader
  // Field 22 of stat is starttime; after "(comm)" we are at field 3.
  for (int index = 4; index <= 22; ++index) {
    if (!(fields >> field)) return 0;
  }
  return std::stoull(field);
}

}  // namespace hutch::egress
