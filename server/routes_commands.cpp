// POST /v1/sandboxes/{id}/exec: a command run to completion, its result buffered.
#include "routes.hpp"

#include "exec_request_json.hpp"

#include <hutch/error.hpp>

#include <hutch/exec_result_json.hpp>

namespace hutch::server {

void exec_command(Context& context) {
  ExecRequest request = json_io::exec_request_from_json(read_json_object(context));
  if (!request.timeout) request.timeout = context.service.config().exec_timeout;
  request.start_timeout = context.service.config().exec_start_timeout;
  OwnedSandbox owned = sandbox_of(context);
  context.exchange.respond(200, "application/json", exec_result_to_json(owned.handle->exec(request)));
}

}  // namespace hutch::server
