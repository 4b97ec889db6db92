// GET /v1/sandboxes/{id}/exec upgraded to a WebSocket: one command, streamed both ways
// (server/STREAMS.md). The worker that runs this handler pumps the command's output to the
// client, waiting for each frame to be written, so a slow reader slows the command down (its
// pipe fills) instead of filling the service's memory; a second thread reads the client's
// frames (stdin, signals, resizes) one at a time, each applied before the next is read.
#include "routes.hpp"

#include "exec_request_json.hpp"
#include "object_reader.hpp"

#include <hutch/error.hpp>
#include <hutch/exec_result_json.hpp>
#include <hutch/log.hpp>

#include <spdlog/spdlog.h>

#include <limits>
#include <thread>

namespace hutch::server {

namespace json = boost::json;

namespace {

constexpr std::size_t kMaxFramePayload = 64 * 1024;
constexpr char kStdin = 0;

std::string error_message(Errc code, const std::string& message) {
  return json::serialize(json::object{{"type", "error"}, {"error", {{"code", to_string(code)}, {"message", message}}}});
}

json::object parse_text(const std::string& text, const std::string& what) {
  boost::system::error_code ec;
  json::value value = json::parse(text, ec);
  if (ec || !value.is_object()) throw Error(Errc::invalid_argument, what + " is not a JSON object");
  return std::move(value.as_object());
}

// The first message: {"type":"request", ...the fields of an exec request}.
ExecRequest read_request(WebSocket& socket) {
  auto first = socket.read();
  if (!first) throw Error(Errc::io, "the client closed the WebSocket before sending its request");
  if (!first->text) throw Error(Errc::invalid_argument, "the first message must be the request, as a text frame");
  json::object object = parse_text(first->data, "the request");
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

// One control message from the client, applied to the command.
void apply_control(Process& process, const std::string& text) {
  const json::object object = parse_text(text, "a control message");
  const json_io::ObjectReader fields(object, "", Errc::invalid_argument);
  const std::string type = fields.string("type").value_or("");
  if (type == "close_stdin") {
    process.close_stdin();
  } else if (type == "signal") {
    auto signal = fields.integer("signal", 1, 64);
    if (!signal) fields.fail("signal", "required");
    process.kill(static_cast<int>(*signal));
  } else if (type == "resize") {
    auto cols = fields.integer("cols", 1, 65535), rows = fields.integer("rows", 1, 65535);
    if (!cols || !rows) fields.fail(cols ? "rows" : "cols", "required");
    process.resize(static_cast<std::uint16_t>(*cols), static_cast<std::uint16_t>(*rows));
  } else {
    fields.fail("type", "expected close_stdin, signal or resize, got '" + type + "'");
  }
  fields.reject_unknown();
}

// Reads the client's frames until it closes or the command's stream ends; a bad frame is
// answered with an error message and the stream goes on.
void read_client(WebSocket& socket, Process& process) {
  while (auto message = socket.read()) {
    try {
      if (message->text) {
        apply_control(process, message->data);
      } else {
        if (message->data.empty() || message->data[0] != kStdin)
          throw Error(Errc::invalid_argument, "a binary frame from the client must start with stream id 0 (stdin)");
        process.write_stdin(std::string_view(message->data).substr(1));
      }
    } catch (const Error& error) {
      try {
        socket.write(true, error_message(error.code(), error.what()));
      } catch (const Error&) {
        return;
      }
    }
  }
}

}  // namespace

void stream_command(Context& context) {
  OwnedSandbox owned = sandbox_of(context);  // a 404 or 401 is still an HTTP answer
  const Caps::Slot slot = context.service.caps().take_stream(context.caller);  // so is a 429
  WebSocket& socket = context.exchange.accept_websocket();
  std::unique_ptr<Process> process;
  try {
    ExecRequest request = read_request(socket);
    if (!request.timeout) request.timeout = context.service.config().exec_timeout;
    process = owned.handle->spawn(request);
    // The client learns that the command runs before any output: a failed start is its error.
    socket.write(true, R"({"type":"started"})");
  } catch (const Error& error) {
    socket.write(true, error_message(error.code(), error.what()));
    socket.close(error.code() == Errc::invalid_argument ? 1008 : 1011, "no command");
    return;
  }
  // A drain (SIGTERM) ends the command; the stream then ends as for any other exit.
  context.service.add_stream(*process);
  struct Unregister {
    Service& service;
    Process& process;
    ~Unregister() { service.remove_stream(process); }
  } unregister{context.service, *process};
  std::thread reader([&] { read_client(socket, *process); });
  try {
    while (auto chunk = process->read_output()) {
      const char id = static_cast<char>(chunk->stream);
      for (std::size_t at = 0; at < chunk->data.size(); at += kMaxFramePayload) {
        std::string frame(1, id);
        frame.append(chunk->data, at, kMaxFramePayload);
        socket.write(false, frame);
      }
    }
    json::object exit = json::parse(exec_result_to_json(process->wait())).as_object();
    exit.erase("stdout");
    exit.erase("stderr");
    exit.erase("stdout_encoding");
    exit.erase("stderr_encoding");
    exit["type"] = "exit";
    socket.write(true, json::serialize(exit));
    socket.close(1000, "exited");
  } catch (const Error& error) {
    // The client went away or stopped reading: the command must not run on unattended.
    logger()->info("streamed command in {}: {}; killing it", owned.handle->id(), error.what());
    process->kill(9);
    socket.close(1011, "stream failed");
  }
  reader.join();
}

}  // namespace hutch::server
