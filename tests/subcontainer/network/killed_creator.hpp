// What a creator killed with `kill -9` leaves: a sandbox made in a process of its own, with a
// backend of its own on the same state dir (as a second hutch would), which is then killed.
#pragma once

#include "backend.hpp"
#include "config.hpp"

#include <hutch/log.hpp>

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <string>

namespace hutch::subcontainer::test {

// Creates a sandbox of `spec` with a backend of `config` in a child process, then kills that
// process with SIGKILL. Returns the sandbox's id, or empty when the creator failed.
inline std::string create_in_a_killed_creator(const BackendConfig& config, const SandboxSpec& spec) {
  int ready[2];
  if (::pipe2(ready, O_CLOEXEC) != 0) return {};
  const pid_t creator = ::fork();
  if (creator < 0) return {};
  if (creator == 0) {
    try {
      SubcontainerBackend backend(make_runtime(config, hutch::logger()));
      const std::string id = backend.create(spec)->id();
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

}  // namespace hutch::subcontainer::test
