// Runs a spawned command to its end the way a shell would: its stdout and stderr copied live
// to ours, our stdin forwarded when asked, and its fate turned into an exit status.
#pragma once

#include "interrupt.hpp"

#include <hutch/process.hpp>

namespace hutch::cli {

// Returns the shell status (exit code, 124 on timeout, 128+N on signal N). When `watcher`
// saw a signal, the command is killed and 128+<that signal> is returned, as a shell does.
// With `tty` (the command was started with one): our terminal's size follows to the
// command's (SIGWINCH), and with `forward_stdin` our terminal is raw while it runs.
int stream_process(Process& process, InterruptWatcher& watcher, bool forward_stdin, bool tty = false);

}  // namespace hutch::cli
