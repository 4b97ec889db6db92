// Runs a spawned command to its end the way a shell would: its stdout and stderr copied live
// to ours (or kept, for --json), our stdin forwarded when asked, and its fate turned into an
// exit status.
#pragma once

#include "interrupt.hpp"

#include <hutch/process.hpp>

#include <cstdint>
#include <optional>

namespace hutch::cli {

// Where the command's output goes.
struct OutputPolicy {
  // Kept in the returned result (for --json) instead of written to our stdout and stderr.
  bool collect = false;
  // Bytes per stream kept or written; the rest is read and dropped, so the command never
  // blocks on a full pipe. Streamed output that hits it gets one warning on stderr; collected
  // output says so in the result's *_truncated flags. Unset: no cap.
  std::optional<std::uint64_t> max_output;
};

struct StreamOutcome {
  // The shell status: exit code, 124 on timeout, 128+N on signal N. When the watcher saw a
  // signal, the command is killed and 128+<that signal> is returned, as a shell does.
  int status = 0;
  // The command's result. Its output is what was collected (empty unless policy.collect), its
  // truncation flags include what the cap dropped. After an interrupt whose kill the sandbox
  // did not confirm, signal is the signal hutch received and exit_code is -1.
  ExecResult result;
};

// With `tty` (the command was started with one): our terminal's size follows to the
// command's (SIGWINCH), and with `forward_stdin` our terminal is raw while it runs.
StreamOutcome stream_process(Process& process, InterruptWatcher& watcher, bool forward_stdin,
                             const OutputPolicy& policy, bool tty = false);

}  // namespace hutch::cli
