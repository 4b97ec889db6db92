#include "stdin_pump.hpp"

#include <hutch/error.hpp>
#include <hutch/log.hpp>

#include <fcntl.h>
#include <poll.h>
#include <unistd.h>

#include <spdlog/spdlog.h>

#include <cerrno>
#include <string_view>
#include <vector>

namespace hutch::cli {

namespace {
constexpr std::size_t kChunkBytes = 64 * 1024;
}

StdinPump::StdinPump(Process& process) : process_(process) {
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0) throw_system_error("creating the stdin pump's stop pipe", errno);
  stop_read_ = fds[0];
  stop_write_ = fds[1];
  try {
    thread_ = std::thread([this] { pump(); });
  } catch (...) {
    ::close(stop_read_);
    ::close(stop_write_);
    throw;
  }
}

StdinPump::~StdinPump() {
  const char stop = 0;
  while (::write(stop_write_, &stop, 1) < 0 && errno == EINTR) {
  }
  thread_.join();
  ::close(stop_read_);
  ::close(stop_write_);
}

void StdinPump::pump() {
  std::vector<char> buffer(kChunkBytes);
  try {
    for (;;) {
      pollfd watched[2] = {{STDIN_FILENO, POLLIN, 0}, {stop_read_, POLLIN, 0}};
      if (::poll(watched, 2, -1) < 0) {
        if (errno == EINTR) continue;
        throw_system_error("waiting for stdin", errno);
      }
      if (watched[1].revents != 0) return;
      const auto got = ::read(STDIN_FILENO, buffer.data(), buffer.size());
      if (got < 0 && errno == EINTR) continue;
      if (got < 0) throw_system_error("reading stdin", errno);
      if (got == 0) break;
      process_.write_stdin(std::string_view(buffer.data(), static_cast<std::size_t>(got)));
    }
    process_.close_stdin();
  } catch (const std::exception& error) {
    // Usually the command has ended or closed its stdin; what it did is in its result.
    logger()->debug("stopped forwarding stdin: {}", error.what());
    try {
      process_.close_stdin();
    } catch (...) {
    }
  }
}

}  // namespace hutch::cli
