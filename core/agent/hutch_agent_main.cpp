// hutch-agent: the in-sandbox agent as PID 1 of an existing container (the Docker backend's fast
// path). It serves the control protocol of wire.hpp on a unix socket that the host reaches
// through a bind mount, runs each command under its own subreaper (so kill and timeout end
// the whole tree), and reaps every zombie as PID 1 must.
//
//   hutch-agent serve <socket-path> [--user <user>] [--keep-caps <n,n,...>] [--seccomp 1]
//                     [--stop-grace <ms>] [--ttl-deadline <unix ms>] [--idle-timeout <ms>]
//                     [--expiry-file <path>]
//   hutch-agent noop      exits 0: a command that exists in every sandbox, which the host runs
//                       once through the agent to check the sandbox's user at create time
//
// --user       who a request that names no user runs as (the container's configured user;
//              the agent itself runs as root so that it can switch users per command)
// --keep-caps  capability numbers commands keep (the sandbox's configured set); every other
//              capability, including those the agent needs to switch users, is dropped from
//              commands, which also get no_new_privs
// --seccomp 1  also confine commands with hutch's default seccomp filter (seccomp_policy.hpp),
//              on top of the container's profile: Docker's default profile lets io_uring and
//              vsock sockets through
// --stop-grace on SIGTERM (docker stop), how long every process gets between the SIGTERM the
//              agent forwards to it and SIGKILL (default 10000)
// --ttl-deadline, --idle-timeout  the sandbox's lifetimes (lifetime.hpp), until the host sets
//              others; at expiry the agent writes why to --expiry-file and stops the container
// A request's empty env/cwd are the agent's own: the container's environment (minus HOME,
// which follows the command's user) and working directory. SIGTERM from outside the container
// (docker stop) stops every process gracefully (sandbox_stop.hpp); the agent exits, and with it
// the container, once they are gone.
#include "leader.hpp"

#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <algorithm>
#include <climits>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <optional>
#include <string>
#include <vector>

extern char** environ;

namespace {

[[noreturn]] void usage(const char* program) {
  std::fprintf(stderr,
               "usage: %s serve <socket-path> [--user <user>] [--keep-caps <n,n,...>] [--seccomp 1] "
               "[--stop-grace <ms>] [--ttl-deadline <unix ms>] [--idle-timeout <ms>] [--expiry-file <path>]\n",
               program);
  std::exit(2);
}

// Anyone may connect as far as the file mode goes: the host keeps the socket's directory out
// of other host users' reach, and the leader refuses clients inside the sandbox.
int listen_on(const char* path) {
  sockaddr_un address{};
  address.sun_family = AF_UNIX;
  if (std::strlen(path) >= sizeof address.sun_path) {
    std::fprintf(stderr, "hutch-agent: socket path too long: %s\n", path);
    std::exit(1);
  }
  std::strcpy(address.sun_path, path);
  int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    std::perror("hutch-agent: socket");
    std::exit(1);
  }
  ::unlink(path);  // left by a previous run of this container (docker restart)
  mode_t old_mask = ::umask(0);
  int rc = ::bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof address);
  ::umask(old_mask);
  if (rc != 0 || ::listen(fd, 128) != 0) {
    std::fprintf(stderr, "hutch-agent: listen on %s: %s\n", path, std::strerror(errno));
    std::exit(1);
  }
  return fd;
}

bool parse_caps(const std::string& text, std::vector<int>& caps) {
  std::size_t start = 0;
  while (start < text.size()) {
    std::size_t end = text.find(',', start);
    if (end == std::string::npos) end = text.size();
    std::string item = text.substr(start, end - start);
    if (item.empty() || item.find_first_not_of("0123456789") != std::string::npos) return false;
    caps.push_back(std::atoi(item.c_str()));
    start = end + 1;
  }
  return true;
}

std::vector<std::string> own_environment() {
  std::vector<std::string> env;
  for (char** entry = environ; *entry != nullptr; ++entry)
    if (std::strncmp(*entry, "HOME=", 5) != 0) env.emplace_back(*entry);
  return env;
}

void end_agent(int) { ::_exit(0); }

bool is_number(const std::string& text, std::size_t max_digits) {
  return !text.empty() && text.size() <= max_digits && text.find_first_not_of("0123456789") == std::string::npos;
}

// The real and saved uid of the shepherds (CommandPolicy::shepherd_uid): root in the container
// cannot signal them without CAP_KILL, which commands have only when cap_add grants it. High, so
// that no image's user has it; commands cannot take it without CAP_SETUID.
constexpr uid_t kShepherdUid = 2147483646;

// kShepherdUid when the container's user namespace maps it (rootful engines map every uid);
// else the highest uid it maps — rootless Podman maps only the user's subordinate range (0..65536
// by default), where setresuid to an unmapped uid fails and so would every shepherd. Nullopt
// when only root is mapped: the shepherds then stay root.
std::optional<uid_t> shepherd_uid() {
  std::FILE* map = std::fopen("/proc/self/uid_map", "re");
  if (map == nullptr) return kShepherdUid;
  unsigned long inside = 0, outside = 0, count = 0, highest = 0;
  bool maps_shepherd_uid = false;
  while (std::fscanf(map, "%lu %lu %lu", &inside, &outside, &count) == 3) {
    if (count == 0) continue;
    if (inside <= kShepherdUid && kShepherdUid - inside < count) maps_shepherd_uid = true;
    highest = std::max(highest, inside + count - 1);
  }
  std::fclose(map);
  if (maps_shepherd_uid) return kShepherdUid;
  if (highest == 0) return std::nullopt;
  return static_cast<uid_t>(highest);
}

}  // namespace

int main(int argc, char** argv) {
  if (argc == 2 && std::strcmp(argv[1], "noop") == 0) return 0;
  // Root in the container, as the sandbox's own root is: dumpable, its memory would be open to
  // /proc/1/mem of any sandboxed process that holds the same capabilities (cap_add can grant
  // all of them). Inherited by every shepherd it forks (leader.cpp).
  if (::prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) != 0) {
    std::perror("hutch-agent: prctl(PR_SET_DUMPABLE)");
    return 1;
  }
  if (argc < 3 || std::strcmp(argv[1], "serve") != 0) usage(argv[0]);
  hutch::agent::CommandPolicy policy;
  for (int i = 3; i < argc; ++i) {
    std::string option = argv[i];
    if (i + 1 >= argc) usage(argv[0]);
    std::string value = argv[++i];
    if (option == "--user") {
      policy.default_user = value;
    } else if (option == "--keep-caps") {
      if (!parse_caps(value, policy.keep_caps)) usage(argv[0]);
    } else if (option == "--seccomp" && (value == "0" || value == "1")) {
      policy.seccomp = value == "1";
    } else if (option == "--stop-grace" && is_number(value, 10) && std::stoull(value) <= 0xFFFFFFFFull) {
      policy.stop_grace_ms = static_cast<std::uint32_t>(std::stoull(value));
    } else if (option == "--ttl-deadline" && is_number(value, 18)) {
      policy.ttl_deadline_ms = std::stoll(value);
    } else if (option == "--idle-timeout" && is_number(value, 18)) {
      policy.idle_timeout_ms = std::stoll(value);
    } else if (option == "--expiry-file" && !value.empty()) {
      // Emptied for this start; close-on-exec: no command inherits it.
      policy.expiry_fd = ::open(value.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
      if (policy.expiry_fd < 0) {
        std::fprintf(stderr, "hutch-agent: open %s: %s\n", value.c_str(), std::strerror(errno));
        return 1;
      }
    } else {
      usage(argv[0]);
    }
  }
  char cwd[PATH_MAX];
  if (::getcwd(cwd, sizeof cwd) != nullptr) policy.default_cwd = cwd;
  policy.base_env = own_environment();
  policy.host_clients_only = true;
  policy.shepherd_uid = shepherd_uid();

  // PID 1 gets no default signal actions. SIGTERM is the leader's (run_leader: a graceful
  // stop); SIGINT ends the agent at once, and with it every process of the container.
  struct sigaction end{};
  end.sa_handler = end_agent;
  ::sigaction(SIGINT, &end, nullptr);
  // The container's RLIMIT_FSIZE (SandboxSpec::max_file_bytes) must make a write fail with
  // EFBIG, not kill the writer: an ignored SIGXFSZ stays ignored in every command it starts.
  ::signal(SIGXFSZ, SIG_IGN);

  int listen_fd = listen_on(argv[2]);
  if (auto error = hutch::agent::confine_leader(policy); !error.empty()) {
    std::fprintf(stderr, "hutch-agent: %s\n", error.c_str());
    return 1;
  }
  hutch::agent::run_leader(listen_fd, policy);
}
