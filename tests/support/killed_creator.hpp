// What a creator killed with `kill -9` leaves: runs `create` (which makes a sandbox with a
// backend of its own, as a second hutch process would, and returns its id) in a forked
// process, then kills that process with SIGKILL. Returns the id, or empty when the creator
// failed. For the tests of prune after a crash.
#pragma once

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <exception>
#include <functional>
#include <string>

namespace hutch::test {

inline std::string create_in_a_killed_creator(const std::function<std::string()>& create) {
  int ready[2];
  if (::pipe2(ready, O_CLOEXEC) != 0) return {};
  const pid_t creator = ::fork();
  if (creator < 0) return {};
  if (creator == 0) {
    try {
      const std::string id = create();
      (void)!::write(ready[1], id.data(), id.size());
    } catch (const std::exception&) {
      (void)!::write(ready[1], "!", 1);
    }
    ::pause();
    ::_exit(0);
  }
  ::close(ready[1]);
  char buffer[64] = {};
  const ssize_t got = ::read(ready[0], buffer, sizeof buffer - 1);
  ::close(ready[0]);
  ::kill(creator, SIGKILL);
  ::waitpid(creator, nullptr, 0);
  return got > 1 ? std::string(buffer, static_cast<std::size_t>(got)) : std::string();
}

}  // namespace hutch::test
