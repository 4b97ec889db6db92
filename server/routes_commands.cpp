// POST /v1/sandboxes/{id}/exec: a command run to completion, its result buffered; the main
// command: POST …/launch starts (or replaces) it, GET …/logs[?follow=1] streams its log.
#include "routes.hpp"

#include "exec_request_json.hpp"
#include "values_json.hpp"

#include <hutch/error.hpp>

#include <hutch/exec_result_json.hpp>

namespace hutch::server {

void exec_command(Context& context) {
  ExecRequest request = json_io::exec_request_from_json(read_json_object(context));
  if (!request.timeout) request.timeout = context.service.config().exec_timeout;
  request.start_timeout = context.service.config().exec_start_timeout;
  OwnedSandbox owned = sandbox_of(context);
  const auto started = std::chrono::steady_clock::now();
  const ExecResult result = owned.handle->exec(request);
  context.service.metrics().observe_exec(context.service.backend_name(owned.backend), std::chrono::steady_clock::now() - started);
  context.exchange.respond(200, "application/json", exec_result_to_json(result));
}

void launch_command(Context& context) {
  // Unlike exec, no default timeout: a main command runs until it ends or is replaced.
  const ExecRequest request = json_io::exec_request_from_json(read_json_object(context));
  OwnedSandbox owned = sandbox_of(context);
  const MainCommandInfo launched = owned.handle->launch(request);
  context.service.watch(owned, /*launched=*/true);  // its end is an "exited" event
  respond_json(context, 201, json_io::to_json(launched));
}

void command_logs(Context& context) {
  const auto follow = context.request().query_value("follow");
  if (follow && *follow != "0" && *follow != "1" && *follow != "true" && *follow != "false")
    throw Error(Errc::invalid_argument, "query parameter 'follow': expected 1 or 0, got '" + *follow + "'");
  OwnedSandbox owned = sandbox_of(context);
  const bool following = follow && (*follow == "1" || *follow == "true");
  // A followed log is a stream (a cap on streams applies); a read of what is there is not.
  const Caps::Slot slot = following ? context.service.caps().take_stream(context.caller) : Caps::Slot{};
  // As for files: the header goes out with the first chunk, so "nothing was launched" is a 404.
  bool begun = false;
  owned.handle->logs(
      [&](std::string_view chunk) {
        if (!begun) context.exchange.begin_stream(200, "application/octet-stream");
        begun = true;
        context.exchange.write_chunk(chunk);
        return true;
      },
      following);
  if (!begun) context.exchange.begin_stream(200, "application/octet-stream");
  context.exchange.end_stream();
}

}  // namespace hutch::server
