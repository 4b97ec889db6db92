// ExecResult as one JSON object: what `hutch run --json` and `hutch exec --json` print, and what
// the service returns for a command, so that every client reads the same fields:
//   {"stdout": "...", "stderr": "...",
//    "stdout_encoding": "utf-8" | "base64", "stderr_encoding": "utf-8" | "base64",
//    "exit_code": 0 | null, "signal": 9 | null, "timed_out": false,
//    "stdout_truncated": false, "stderr_truncated": false, "duration_ms": 12}
// A stream is written as UTF-8 text when its bytes are valid UTF-8 (NUL and control characters
// included, escaped by JSON), else base64 (standard alphabet, padded) with encoding "base64".
// exit_code is null unless the command exited by itself (not on timeout, not by a signal);
// signal is the number of the signal that ended it, or null. Fields are never left out.
#pragma once

#include <hutch/export.hpp>
#include <hutch/types.hpp>

#include <string>
#include <string_view>

namespace hutch {

// The object above, serialized on one line (no trailing newline).
HUTCH_API std::string exec_result_to_json(const ExecResult& result);

// Whether `bytes` is well-formed UTF-8 (RFC 3629: no overlong forms, no surrogates, nothing
// above U+10FFFF, no sequence cut short).
HUTCH_API bool is_valid_utf8(std::string_view bytes) noexcept;

}  // namespace hutch
