// /v1/sandboxes/{id}/processes: background processes, commands that outlive the request that
// started them (the service's ProcessRegistry, shared with E2B's process service). While no
// client is attached, each of a command's streams keeps its newest 1 MiB and counts what it
// dropped (dropped_bytes), so a command nobody reads never blocks.
//   POST …/processes                     start one (an exec request, plus "tag") -> 201 Process
//   GET  …/processes                     the ones still running
//   GET  …/processes/{pid}               one of them; with an Upgrade: websocket, an attachment
//   POST …/processes/{pid}/signal        {"signal": N}
// An attachment (server/STREAMS.md) gets {"type":"attached","pid","dropped_bytes"}, then the
// output still kept and what follows as binary frames, then the exit message; its stdin,
// close_stdin, signal and resize frames act on the command. When the client leaves, the command
// runs on; another attachment (from any connection) can follow it again.
#include "routes.hpp"

#include "exec_request_json.hpp"
#include "object_reader.hpp"
#include "stream_protocol.hpp"

#include <hutch/error.hpp>

#include <atomic>
#include <charconv>
#include <thread>

namespace hutch::server {

namespace json = boost::json;

namespace {

json::object process_json(const RunningProcess& running) {
  json::array argv;
  for (const std::string& arg : running.request().argv) argv.emplace_back(arg);
  return json::object{{"pid", running.pid()},
                      {"tag", running.tag() ? json::value(*running.tag()) : nullptr},
                      {"argv", std::move(argv)},
                      {"running", !running.ended()},
                      {"dropped_bytes", {{"stdout", running.dropped(StreamId::stdout_stream)},
                                         {"stderr", running.dropped(StreamId::stderr_stream)}}}};
}

// The route's {pid} of a command of the route's sandbox, if the caller may see the sandbox.
std::shared_ptr<RunningProcess> process_of(Context& context) {
  const std::string& text = context.request().params.at("pid");
  std::uint32_t pid = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), pid);
  if (ec != std::errc{} || end != text.data() + text.size())
    throw Error(Errc::invalid_argument, "path segment 'pid': expected a process id (a whole number), got '" + text + "'");
  OwnedSandbox owned = sandbox_of(context);
  return context.service.processes().find(owned.handle->id(), pid);
}

// Follows the command from the oldest output kept until it ends, the client leaves or the
// service drains.
void attach(Context& context, const std::shared_ptr<RunningProcess>& running) {
  // A stream for as long as the client stays attached (429 past a stream cap, before the upgrade).
  const Caps::Slot slot = context.service.caps().take_stream(context.caller);
  WebSocket& socket = context.exchange.accept_websocket();
  const ProcessRegistry::Attached counted(context.service.processes());
  json::object attached = process_json(*running);
  socket.write(true, json::serialize(json::object{{"type", "attached"},
                                                  {"pid", running->pid()},
                                                  {"dropped_bytes", attached["dropped_bytes"]}}));
  std::atomic<bool> client_gone{false};
  std::thread reader([&] {
    read_client(socket, *running);
    client_gone = true;
  });
  RunningProcess::Cursor cursor = running->oldest();
  try {
    for (;;) {
      // Short waits: a client that left or a drain is noticed within one.
      RunningProcess::Update update = running->wait(cursor, std::chrono::milliseconds(200));
      for (const OutputChunk& chunk : update.chunks) write_output(socket, chunk);
      if (update.result) {
        socket.write(true, stream_exit_message(*update.result));
        socket.close(1000, "exited");
        break;
      }
      if (client_gone) break;  // detached: the command runs on
      if (context.service.draining()) {
        socket.close(1001, "the service is shutting down; the command runs on");
        break;
      }
    }
  } catch (const Error&) {
    // The client went away or stopped reading: it is detached, the command runs on.
    socket.close(1011, "stream failed");
  }
  reader.join();
}

}  // namespace

void start_process(Context& context) {
  json::object body = read_json_object(context);
  std::optional<std::string> tag;
  {
    const json_io::ObjectReader fields(body, "", Errc::invalid_argument);
    tag = fields.string("tag");
    if (tag && tag->empty()) fields.fail("tag", "expected a non-empty tag");
  }
  body.erase("tag");
  // Like a launch, no default timeout: a background command runs until it ends or is signalled.
  ExecRequest request = json_io::exec_request_from_json(body);
  OwnedSandbox owned = sandbox_of(context);
  std::shared_ptr<RunningProcess> running = context.service.processes().start(*owned.handle, std::move(tag), std::move(request));
  respond_json(context, 201, process_json(*running));
}

void list_processes(Context& context) {
  OwnedSandbox owned = sandbox_of(context);
  json::array processes;
  for (const auto& running : context.service.processes().list(owned.handle->id())) processes.push_back(process_json(*running));
  respond_json(context, 200, processes);
}

void get_process(Context& context) {
  std::shared_ptr<RunningProcess> running = process_of(context);
  if (context.request().header("upgrade")) return attach(context, running);
  respond_json(context, 200, process_json(*running));
}

void signal_process(Context& context) {
  const json::object body = read_json_object(context);
  const json_io::ObjectReader fields(body, "", Errc::invalid_argument);
  auto signal = fields.integer("signal", 1, 64);
  if (!signal) fields.fail("signal", "required (1-64)");
  fields.reject_unknown();
  process_of(context)->kill(static_cast<int>(*signal));
  context.exchange.respond(204, "application/json", "");
}

}  // namespace hutch::server
