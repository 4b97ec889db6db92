// ExecRequest <-> JSON: the request body of the service's `POST /v1/sandboxes/{id}/exec` (and
// the first frame of a streamed one), which the remote backend writes:
//   {"argv": ["sh", "-c", "echo hi"], "env": {"K": "V"}, "cwd": "/", "user": "1000",
//    "stdin": "text", "stdin_encoding": "utf-8" | "base64", "tty": false,
//    "timeout_ms": 5000, "output_limit_bytes": 16777216,
//    "tty_cols": 80, "tty_rows": 24, "use_entrypoint": false}
// Only argv is required. The result is the object of <hutch/exec_result_json.hpp>.
#pragma once

#include <hutch/types.hpp>

#include <boost/json.hpp>

namespace hutch::json_io {

// Errc::invalid_argument naming the field for a wrong type, an unknown field, an empty argv,
// a bad encoding or base64 that does not decode.
ExecRequest exec_request_from_json(const boost::json::value& document);
boost::json::object to_json(const ExecRequest& request);
// The result object of <hutch/exec_result_json.hpp> (or the `exit` message of a stream, which
// has no output fields) read back; Errc::backend naming the field when it is not of that form.
ExecResult exec_result_from_json(const boost::json::value& document);

}  // namespace hutch::json_io
