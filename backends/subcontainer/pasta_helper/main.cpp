// hutch-pasta-helper: what the rootless bridge network (network/pasta_network.hpp) needs done
// by a single-threaded process: joining a sandbox's user namespace (which a multi-threaded host
// may not, and without which an unprivileged process may not join its network namespace), and
// watching the sandbox's leader on behalf of its pasta, which does not end when the namespace
// it serves loses its last process. See protocol.hpp for the verbs.
#include "protocol.hpp"
#include "starter_report.hpp"

#include <nftables/libnftables.h>

#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <spawn.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <string>
#include <vector>

extern char** environ;

using namespace hutch::subcontainer::pasta_helper;

namespace {

using hutch::subcontainer::starter::fail;
using hutch::subcontainer::starter::kReportFd;
using hutch::subcontainer::starter::report;

std::string errno_text(const std::string& what) { return what + ": " + std::strerror(errno); }

// One line, for the report.
std::string flattened(std::string text) {
  while (!text.empty() && (text.back() == '\n' || text.back() == ' ')) text.pop_back();
  for (char& c : text)
    if (c == '\n') c = ';';
  return text;
}

int run_firewall(const std::string& commands) {
  // The user namespace first: with all capabilities there, the network namespace it owns may
  // be joined (its nftables changed) by a process with none on the host.
  if (::setns(kLeaderFd, CLONE_NEWUSER | CLONE_NEWNET) != 0) fail(errno_text("join the sandbox's namespaces"));
  nft_ctx* nft = nft_ctx_new(NFT_CTX_DEFAULT);
  if (nft == nullptr) fail("cannot create a libnftables context");
  nft_ctx_buffer_output(nft);
  nft_ctx_buffer_error(nft);
  if (nft_run_cmd_from_buffer(nft, commands.c_str()) != 0) fail("nftables: " + flattened(nft_ctx_get_error_buffer(nft)));
  nft_ctx_free(nft);
  report("OK 0");
  return 0;
}

// Runs pasta until its first process exits (it forks to the background once it works);
// returns its wait status and what it printed.
int run_pasta_to_background(std::vector<std::string> argv, std::string& output) {
  int out[2];
  if (::pipe2(out, O_CLOEXEC) != 0) fail(errno_text("pipe"));
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, out[1], 1);
  posix_spawn_file_actions_adddup2(&actions, out[1], 2);
  std::vector<char*> args;
  for (auto& arg : argv) args.push_back(arg.data());
  args.push_back(nullptr);
  pid_t pasta = 0;
  const int spawned = ::posix_spawn(&pasta, args[0], &actions, nullptr, args.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  ::close(out[1]);
  if (spawned != 0) {
    errno = spawned;
    fail(errno_text("run " + argv[0]));
  }
  int status = 0;
  while (::waitpid(pasta, &status, 0) < 0 && errno == EINTR) {
  }
  // The pasta in the background may hold the pipe still: only what is there now.
  ::fcntl(out[0], F_SETFL, O_NONBLOCK);
  char buffer[1024];
  for (ssize_t got; (got = ::read(out[0], buffer, sizeof buffer)) > 0;) output.append(buffer, static_cast<std::size_t>(got));
  ::close(out[0]);
  return status;
}

int run_pasta(const std::string& pid_file, const std::string& pasta, const std::vector<std::string>& pasta_args) {
  // Once: the starter exits at once, the child is nobody's (the host reaps the starter).
  const pid_t child = ::fork();
  if (child < 0) fail(errno_text("fork"));
  if (child > 0) std::_Exit(0);
  ::setsid();
  (void)!::chdir("/");
  std::vector<std::string> argv{pasta, "-P", pid_file};
  argv.insert(argv.end(), pasta_args.begin(), pasta_args.end());
  std::string output;
  const int status = run_pasta_to_background(argv, output);
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    ::unlink(pid_file.c_str());
    fail("pasta: " + (output.empty() ? std::string("exited with status ") + std::to_string(status) : flattened(output)));
  }
  std::string text;
  std::getline(std::ifstream(pid_file), text);
  ::unlink(pid_file.c_str());
  pid_t pid = 0;
  std::from_chars(text.data(), text.data() + text.size(), pid);
  const int pasta_fd = pid > 0 ? static_cast<int>(::syscall(SYS_pidfd_open, pid, 0)) : -1;
  if (pasta_fd < 0) fail("pasta did not stay in the background (pid file: '" + text + "')");
  report("OK " + std::to_string(pid));
  ::close(kReportFd);
  // Whichever ends first: the leader (then pasta goes too), or pasta (ended by the host).
  pollfd ended[2] = {{kLeaderFd, POLLIN, 0}, {pasta_fd, POLLIN, 0}};
  while (::poll(ended, 2, -1) < 0 && errno == EINTR) {
  }
  if (ended[0].revents != 0) ::syscall(SYS_pidfd_send_signal, pasta_fd, SIGKILL, nullptr, 0);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  const std::vector<std::string> args(argv + 1, argv + argc);
  if (args.size() == 3 && args[0] == "firewall") return run_firewall(args[2]);
  if (args.size() >= 4 && args[0] == "pasta")
    return run_pasta(args[2], args[3], std::vector<std::string>(args.begin() + 4, args.end()));
  fail("usage: hutch-pasta-helper firewall ID COMMANDS | pasta ID PID_FILE PASTA ARG...");
}
