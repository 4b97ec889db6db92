// GET /v1/sandboxes/{id}/exec upgraded to a WebSocket: one command, streamed both ways
// (server/STREAMS.md). The worker that runs this handler pumps the command's output to the
// client, waiting for each frame to be written, so a slow reader slows the command down (its
// pipe fills) instead of filling the service's memory; a second thread reads the client's
// frames (stdin, signals, resizes) one at a time, each applied before the next is read.
#include "routes.hpp"

#include "stream_protocol.hpp"

#include <hutch/error.hpp>
#include <hutch/exec_result_json.hpp>
#include <hutch/log.hpp>

#include <spdlog/spdlog.h>

#include <thread>

namespace hutch::server {

namespace json = boost::json;

void stream_command(Context& context) {
  OwnedSandbox owned = sandbox_of(context);  // a 404 or 401 is still an HTTP answer
  const Caps::Slot slot = context.service.caps().take_stream(context.caller);  // so is a 429
  WebSocket& socket = context.exchange.accept_websocket();
  std::unique_ptr<Process> process;
  try {
    ExecRequest request = read_stream_request(socket);
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
  std::thread reader([&] {
    read_client(socket, *process);
    // The client closed the stream or went away: nobody can read the command any more. Killed
    // here, since a command that writes nothing (`cat` waiting for stdin, `sleep`) would
    // otherwise hold this worker and the stream's place until its timeout, if it has one.
    process->kill(9);
  });
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
