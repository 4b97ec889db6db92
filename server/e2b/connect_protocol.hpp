// The Connect protocol (connectrpc.com/docs/protocol) with its JSON codec, as envd's two RPC
// services speak it and the E2B SDKs send it (connect-web, useBinaryFormat: false):
//   - unary: POST /<package.Service>/<Method>, Content-Type application/json, the message as
//     the body; the answer is the response message (200) or an error: the HTTP status of its
//     code and {"code": "not_found", "message": "..."}.
//   - streaming: Content-Type application/connect+json; each message is an envelope (one flag
//     byte, a 4-byte big-endian length, the JSON); the server's last envelope has flag 0x02
//     and holds {} or {"error": {"code", "message"}}; the HTTP status stays 200.
#pragma once

#include "router.hpp"

#include <hutch/error.hpp>

#include <boost/json.hpp>

#include <chrono>
#include <optional>
#include <string>

namespace hutch::server::e2b {

// Connect's name of an error code, and the HTTP status a unary answer carries for it.
const char* connect_code(Errc code);
unsigned connect_http_status(Errc code);

// The deadline the client set (Connect-Timeout-Ms); unset when it set none.
std::optional<std::chrono::milliseconds> connect_timeout(Context& context);

// A unary call: the request message (an empty body is an empty message).
boost::json::object read_unary(Context& context);
void answer_unary(Context& context, const boost::json::value& message);
// Runs `body` as a unary call's handler: its Error is answered in Connect's error format.
Handler unary_handler(std::function<void(Context&)> body);

// A Connect path (/e2b/envd/<package.Service>/<Method>) no route serves: Connect's
// `unimplemented` error, as an end-stream envelope for a streaming content type
// (application/connect+json), else as a unary error (HTTP 501).
void answer_unknown_procedure(Context& context);

// A server-streaming call: its one request envelope, then messages, then the end.
class ServerStream {
 public:
  // Reads the request envelope (Errc::invalid_argument for a malformed one).
  explicit ServerStream(Context& context);
  ~ServerStream();  // ends the stream (without error) if end() was not called
  ServerStream(const ServerStream&) = delete;
  ServerStream& operator=(const ServerStream&) = delete;

  const boost::json::object& request() const { return request_; }
  // Sends one message (the response header goes with the first).
  void send(const boost::json::value& message);
  // The end-stream envelope: {} or the error.
  void end(const Error* error = nullptr);

 private:
  Context& context_;
  boost::json::object request_;
  bool begun_ = false;
  bool ended_ = false;
};
// Runs `body` as a server-streaming call's handler: an Error it throws ends the stream with
// that error (before or after messages went out).
Handler server_stream_handler(std::function<void(Context&, ServerStream&)> body);

// A client-streaming call's request envelopes, read one at a time from the body.
class EnvelopeReader {
 public:
  explicit EnvelopeReader(Context& context) : context_(context) {}
  // The next message; nullopt at the end of the body (or its end-stream envelope).
  std::optional<boost::json::object> next();

 private:
  Context& context_;
  std::string buffer_;
  bool done_ = false;
};

// Reading messages: the JSON codec writes 64-bit integers as strings, bytes as base64, enums
// by name or number, and leaves out fields with default values.
std::string string_field(const boost::json::object& message, const char* name);
std::optional<std::int64_t> integer_field(const boost::json::object& message, const char* name);
bool bool_field(const boost::json::object& message, const char* name);
const boost::json::object* object_field(const boost::json::object& message, const char* name);

}  // namespace hutch::server::e2b
