// Checks as the unprivileged host user nobody: whether a host user who is not hutch's can
// reach what hutch stores (the security issue's rule for setuid files and sandbox trees).
#pragma once

#include <fcntl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <filesystem>
#include <functional>
#include <string>

namespace hutch::test {

inline constexpr uid_t kNobody = 65534;

// What happens when the unprivileged host user nobody (uid and gid 65534, no groups) runs
// `action` in a child process: the errno it returns (0: it worked), or -1 when the child did
// not report (an exec that succeeded: the program ran instead). Raw syscalls only between fork
// and exec: the test process has threads.
struct AsNobody {
  int error = -1;
  int exit_status = -1;  // of the program, when an exec worked
};

inline AsNobody as_nobody(const std::function<int()>& action) {
  int report[2];
  if (::pipe2(report, O_CLOEXEC) != 0) return {};
  const pid_t child = ::fork();
  if (child == 0) {
    ::close(report[0]);
    int error = 0;
    if (::syscall(SYS_setgroups, 0, nullptr) != 0 || ::syscall(SYS_setresgid, kNobody, kNobody, kNobody) != 0 ||
        ::syscall(SYS_setresuid, kNobody, kNobody, kNobody) != 0)
      error = 1000 + errno;  // could not become nobody: not what any check expects
    else
      error = action();
    (void)!::write(report[1], &error, sizeof error);
    ::_exit(0);
  }
  ::close(report[1]);
  AsNobody result;
  int error = 0;
  if (::read(report[0], &error, sizeof error) == static_cast<ssize_t>(sizeof error)) result.error = error;
  ::close(report[0]);
  int status = 0;
  ::waitpid(child, &status, 0);
  if (result.error == -1 && WIFEXITED(status)) result.exit_status = WEXITSTATUS(status);
  return result;
}

// nobody tries to run `program`: EACCES when it cannot reach it.
inline AsNobody nobody_runs(const std::filesystem::path& program) {
  const std::string path = program.string();
  return as_nobody([&] {
    char* const argv[] = {const_cast<char*>(path.c_str()), nullptr};
    char* const envp[] = {nullptr};
    ::execve(path.c_str(), argv, envp);
    return errno;
  });
}

inline AsNobody nobody_opens(const std::filesystem::path& path) {
  const std::string text = path.string();
  return as_nobody([&] {
    const int fd = ::open(text.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) return errno;
    ::close(fd);
    return 0;
  });
}

}  // namespace hutch::test
