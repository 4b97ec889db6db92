// The pieces of the WebSocket stream protocol (server/STREAMS.md) that a streamed command
// (GET …/exec, routes_streams.cpp) and an attachment to a background process
// (GET …/processes/{pid}, routes_processes.cpp) share: the client's control frames, the error
// and exit messages, output frames.
#pragma once

#include "exchange.hpp"

#include <hutch/error.hpp>
#include <hutch/process.hpp>
#include <hutch/types.hpp>

#include <boost/json/object.hpp>

#include <string>

namespace hutch::server {

constexpr std::size_t kMaxFramePayload = 64 * 1024;

// {"type":"error","error":{"code","message"}}
std::string stream_error_message(Errc code, const std::string& message);
// {"type":"exit", exit_code signal timed_out stdout_truncated stderr_truncated duration_ms}
std::string stream_exit_message(const ExecResult& result);
// A text frame as a JSON object; Errc::invalid_argument naming `what` otherwise.
boost::json::object parse_stream_text(const std::string& text, const std::string& what);
// The first message of a streamed command: {"type":"request", ...the fields of an exec request};
// Errc::invalid_argument naming the field, Errc::io when the client closed before sending it.
ExecRequest read_stream_request(WebSocket& socket);
// Sends `chunk` as binary frames (its stream id, then at most kMaxFramePayload bytes each).
void write_output(WebSocket& socket, const OutputChunk& chunk);

// Reads the client's frames until it closes or goes away, applying each to `target` (a Process,
// or a RunningProcess) before reading the next: stdin frames (id 0), close_stdin, signal,
// resize. A bad frame is answered with an error message and the stream goes on. Defined for
// Process and RunningProcess.
template <class Target>
void read_client(WebSocket& socket, Target& target);

}  // namespace hutch::server
