// Process: one command running in a sandbox, started by Handle::spawn.
//
// Output is pulled: read_output() blocks until the next chunk of stdout or stderr is there,
// and returns std::nullopt once both streams are closed. A caller that does not read lets
// the backend apply back-pressure (the command blocks on write); it never makes memory grow
// without bound. stdin is a stream the caller writes and closes.
//
// The request's timeout applies from spawn: when it passes, the whole process tree of the
// command is killed and the result says timed_out. kill() likewise ends the whole tree (not
// only the direct child), including children that called setsid() or double-forked.
//
// Destroying a Process that has not finished kills it. Methods are called from one thread at
// a time, except: write_stdin/close_stdin may run on another thread than read_output, and
// kill() may be called from any thread at any time (e.g. a signal watcher interrupting a
// read_output that is blocked).
#pragma once

#include <hutch/export.hpp>
#include <hutch/types.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace hutch {

enum class StreamId { stdout_stream = 1, stderr_stream = 2 };

struct OutputChunk {
  StreamId stream = StreamId::stdout_stream;
  std::string data;
};

class HUTCH_INTERFACE Process {
 public:
  virtual ~Process() = default;

  // Next chunk of output, in the order the backend received it; nullopt at the end of both
  // streams. Throws Errc::io if the stream broke.
  virtual std::optional<OutputChunk> read_output() = 0;

  // Writes all of `data` to the command's stdin. Errc::state after close_stdin() or when the
  // command was started without stdin; Errc::io if the command closed its end.
  virtual void write_stdin(std::string_view data) = 0;
  // Closes stdin (the command sees EOF). Idempotent.
  virtual void close_stdin() = 0;

  // Waits for the command to end and returns its result. stdout_data/stderr_data hold only
  // what read_output() has not already returned (up to the request's output_limit).
  // Idempotent: later calls return the same result.
  virtual ExecResult wait() = 0;

  // Sends `signal` to the whole process tree of the command. No effect once it has ended.
  virtual void kill(int signal = 9) = 0;

  // Sets the size of the command's terminal (ExecRequest::tty); the kernel sends SIGWINCH to
  // the terminal's foreground process group. May be called from any thread (a SIGWINCH
  // watcher). No effect once the command has ended. Errc::state when the command was started
  // without a tty; Errc::unsupported (the default) where the backend cannot resize.
  virtual void resize(std::uint16_t cols, std::uint16_t rows);
};

}  // namespace hutch
