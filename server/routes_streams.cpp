// GET /v1/sandboxes/{id}/exec upgraded to a WebSocket: one command, streamed both ways
// (server/STREAMS.md). The worker that runs this handler pumps the command's output to the
// client, waiting for each frame to be written, so a slow reader slows the command down (its
// pipe fills) instead of filling the service's memory; a second thread reads the client's
// frames (stdin, signals, resizes) one at a time, each applied before the next is read.
#include "routes.hpp"

#include "exec_request_json.hpp"
#include "object_reader.hpp"
#include "stream_protocol.hpp"

#include <hutch/error.hpp>
#include <hutch/exec_result_json.hpp>
#include <hutch/log.hpp>

#include <spdlog/spdlog.h>

#include <limits>
#include <thread>

namespace hutch::server {

namespace json = boost::json;

namespace {

// The first message: {"type":"request", ...the fields of an exec request}.
ExecRequest read_request(WebSocket& socket) {
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
    socket.write(true, stream_error_message(error.code(), error.what()));
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
    while (auto chunk = process->read_output()) write_output(socket, *chunk);
    socket.write(true, stream_exit_message(process->wait()));
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
