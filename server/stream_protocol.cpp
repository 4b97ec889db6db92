#include "stream_protocol.hpp"

#include "exec_request_json.hpp"
#include "object_reader.hpp"
#include "process_registry.hpp"

#include <hutch/exec_result_json.hpp>
#include <hutch/process.hpp>

#include <boost/json.hpp>

#include <limits>

namespace hutch::server {

namespace json = boost::json;

namespace {

constexpr char kStdin = 0;

// One control message from the client, applied to the command.
template <class Target>
void apply_control(Target& target, const std::string& text) {
  const json::object object = parse_stream_text(text, "a control message");
  const json_io::ObjectReader fields(object, "", Errc::invalid_argument);
  const std::string type = fields.string("type").value_or("");
  if (type == "close_stdin") {
    target.close_stdin();
  } else if (type == "signal") {
    auto signal = fields.integer("signal", 1, 64);
    if (!signal) fields.fail("signal", "required");
    target.kill(static_cast<int>(*signal));
  } else if (type == "resize") {
    auto cols = fields.integer("cols", 1, 65535), rows = fields.integer("rows", 1, 65535);
    if (!cols || !rows) fields.fail(cols ? "rows" : "cols", "required");
    target.resize(static_cast<std::uint16_t>(*cols), static_cast<std::uint16_t>(*rows));
  } else {
    fields.fail("type", "expected close_stdin, signal or resize, got '" + type + "'");
  }
  fields.reject_unknown();
}

}  // namespace

std::string stream_error_message(Errc code, const std::string& message) {
  return json::serialize(json::object{{"type", "error"}, {"error", {{"code", to_string(code)}, {"message", message}}}});
}

std::string stream_exit_message(const ExecResult& result) {
  json::object exit = json::parse(exec_result_to_json(result)).as_object();
  exit.erase("stdout");
  exit.erase("stderr");
  exit.erase("stdout_encoding");
  exit.erase("stderr_encoding");
  exit["type"] = "exit";
  return json::serialize(exit);
}

json::object parse_stream_text(const std::string& text, const std::string& what) {
  boost::system::error_code ec;
  json::value value = json::parse(text, ec);
  if (ec || !value.is_object()) throw Error(Errc::invalid_argument, what + " is not a JSON object");
  return std::move(value.as_object());
}

ExecRequest read_stream_request(WebSocket& socket) {
  auto first = socket.read();
  if (!first) throw Error(Errc::io, "the client closed the WebSocket before sending its request");
  if (!first->text) throw Error(Errc::invalid_argument, "the first message must be the request, as a text frame");
  json::object object = parse_stream_text(first->data, "the request");
  const json_io::ObjectReader fields(object, "", Errc::invalid_argument);
  if (fields.string("type") != std::optional<std::string>("request"))
    fields.fail("type", "the first message must have type \"request\"");
  object.erase("type");
  const bool limited = object.contains("output_limit_bytes");
  ExecRequest request = json_io::exec_request_from_json(object);
  // Streamed output is passed on, not kept: no cap unless the client asks for one.
  if (!limited) request.output_limit = std::numeric_limits<std::uint64_t>::max();
  return request;
}

void write_output(WebSocket& socket, const OutputChunk& chunk) {
  const char id = static_cast<char>(chunk.stream);
  for (std::size_t at = 0; at < chunk.data.size(); at += kMaxFramePayload) {
    std::string frame(1, id);
    frame.append(chunk.data, at, kMaxFramePayload);
    socket.write(false, frame);
  }
}

template <class Target>
void read_client(WebSocket& socket, Target& target) {
  while (auto message = socket.read()) {
    try {
      if (message->text) {
        apply_control(target, message->data);
      } else {
        if (message->data.empty() || message->data[0] != kStdin)
          throw Error(Errc::invalid_argument, "a binary frame from the client must start with stream id 0 (stdin)");
        target.write_stdin(std::string_view(message->data).substr(1));
      }
    } catch (const Error& error) {
      try {
        socket.write(true, stream_error_message(error.code(), error.what()));
      } catch (const Error&) {
        return;
      }
    }
  }
}

template void read_client<Process>(WebSocket&, Process&);
template void read_client<RunningProcess>(WebSocket&, RunningProcess&);

}  // namespace hutch::server
