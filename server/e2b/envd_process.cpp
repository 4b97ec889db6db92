// envd's process.Process service (packages/envd/spec/process/process.proto) over Handle::spawn
// and the service's ProcessRegistry: every started command is registered, so a client may
// leave it running (a background command), connect to it again by pid or tag, send it input
// and signals, or resize its terminal from any request.
#include "connect_protocol.hpp"
#include "context.hpp"

#include <hutch/base64.hpp>
#include <hutch/error.hpp>
#include <hutch/handle.hpp>

#include <algorithm>

namespace hutch::server::e2b {

namespace json = boost::json;

namespace {

constexpr std::chrono::seconds kKeepAliveMax{50};

// The home of the users E2B knows; others run in the sandbox's working directory.
std::string home_of(const std::string& user) {
  if (user == kDefaultUser) return "/home/user";
  if (user == "root") return "/root";
  return {};
}

// ProcessSelector: {"pid": N} or {"tag": "..."}.
std::shared_ptr<RunningProcess> select(E2b& e2b, Context& context, const json::object& message, Handle& handle) {
  const json::object* selector = object_field(message, "process");
  if (selector == nullptr) throw Error(Errc::invalid_argument, "field 'process': required (a pid or a tag)");
  if (auto pid = integer_field(*selector, "pid"))
    return e2b.service().processes().find(handle.id(), static_cast<std::uint32_t>(*pid));
  const std::string tag = string_field(*selector, "tag");
  if (!tag.empty()) return e2b.service().processes().find_tag(handle.id(), tag);
  (void)context;
  throw Error(Errc::invalid_argument, "field 'process': expected a pid or a tag");
}

json::object process_info(const RunningProcess& running) {
  const ExecRequest& request = running.request();
  json::object config;
  config["cmd"] = request.argv.empty() ? "" : request.argv.front();
  json::array args;
  for (std::size_t i = 1; i < request.argv.size(); ++i) args.push_back(json::string(request.argv[i]));
  config["args"] = std::move(args);
  json::object envs;
  for (const auto& [key, value] : request.env) envs[key] = value;
  config["envs"] = std::move(envs);
  config["cwd"] = request.cwd;
  json::object info{{"config", std::move(config)}, {"pid", running.pid()}};
  if (running.tag()) info["tag"] = *running.tag();
  return info;
}

json::object event(json::object inner) { return json::object{{"event", std::move(inner)}}; }

// envd's EndEvent for a result.
json::object end_event(const ExecResult& result) {
  json::object end;
  if (result.signal != 0) {
    end["exitCode"] = -1;
    end["exited"] = false;
    end["status"] = "signal: " + std::to_string(result.signal);
  } else {
    end["exitCode"] = result.exit_code;
    end["exited"] = true;
    end["status"] = "exit status " + std::to_string(result.exit_code);
  }
  return end;
}

// Follows a registered command from `cursor` until it ends, sending envd's events; keep-alive
// events while it is quiet. A timed-out command ends the stream with deadline_exceeded.
void follow(Context& context, ServerStream& stream, RunningProcess& running, RunningProcess::Cursor cursor) {
  std::chrono::milliseconds keepalive = kKeepAliveMax;
  if (auto header = context.request().header("keepalive-ping-interval")) {
    try {
      keepalive = std::min<std::chrono::milliseconds>(std::chrono::seconds(std::max(1, std::stoi(*header))), kKeepAliveMax);
    } catch (const std::exception&) {
    }
  }
  const bool tty = running.request().tty;
  for (;;) {
    RunningProcess::Update update = running.wait(cursor, keepalive);
    for (const OutputChunk& chunk : update.chunks) {
      const char* kind = tty ? "pty" : chunk.stream == StreamId::stderr_stream ? "stderr" : "stdout";
      json::object output{{kind, base64_encode(chunk.data)}};
      stream.send(event({{"data", std::move(output)}}));
    }
    if (update.result) {
      if (update.result->timed_out)
        throw Error(Errc::timeout, "the command ran past its timeout (" + std::to_string(
                                       running.request().timeout.value_or(Duration(0)).count()) + " ms) and was killed");
      stream.send(event({{"end", end_event(*update.result)}}));
      return;
    }
    if (update.chunks.empty()) stream.send(event({{"keepalive", json::object{}}}));
  }
}

void start(E2b& e2b, Context& context, ServerStream& stream) {
  OwnedSandbox owned = e2b.envd_sandbox(context);
  const Caps::Slot streaming = e2b.service().caps().take_stream(context.caller);  // 429 past a stream cap
  const json::object& message = stream.request();
  const json::object* process = object_field(message, "process");
  if (process == nullptr) throw Error(Errc::invalid_argument, "field 'process': required");
  ExecRequest request;
  std::string cmd = string_field(*process, "cmd");
  if (cmd.empty()) throw Error(Errc::invalid_argument, "field 'process.cmd': required");
  if (cmd == "/bin/bash" && !e2b.has_bash(*owned.handle)) cmd = "/bin/sh";
  request.argv.push_back(cmd);
  if (const json::value* args = process->if_contains("args"); args && args->is_array())
    for (const json::value& arg : args->as_array()) {
      if (!arg.is_string()) throw Error(Errc::invalid_argument, "field 'process.args': expected strings");
      request.argv.emplace_back(arg.as_string());
    }
  request.user = E2b::envd_user(context);
  const std::string home = home_of(request.user);
  if (!home.empty()) {
    request.env["HOME"] = home;
    request.env["USER"] = request.user;
  }
  if (const json::object* envs = object_field(*process, "envs"))
    for (const auto& [key, value] : *envs)
      if (value.is_string()) request.env[std::string(key)] = std::string(value.as_string());
  request.cwd = string_field(*process, "cwd");
  if (request.cwd.empty()) request.cwd = home;
  if (const json::object* pty = object_field(message, "pty")) {
    request.tty = true;
    if (const json::object* size = object_field(*pty, "size")) {
      request.tty_cols = static_cast<std::uint16_t>(std::clamp<std::int64_t>(integer_field(*size, "cols").value_or(80), 1, 65535));
      request.tty_rows = static_cast<std::uint16_t>(std::clamp<std::int64_t>(integer_field(*size, "rows").value_or(24), 1, 65535));
    }
  } else if (message.contains("stdin") && !bool_field(message, "stdin")) {
    request.stdin_data = "";  // no stdin: the command reads EOF
  }
  if (auto timeout = connect_timeout(context)) request.timeout = Duration(timeout->count());
  std::optional<std::string> tag;
  if (std::string text = string_field(message, "tag"); !text.empty()) tag = std::move(text);
  std::shared_ptr<RunningProcess> running = e2b.service().processes().start(*owned.handle, std::move(tag), std::move(request));
  stream.send(event({{"start", {{"pid", running->pid()}}}}));
  follow(context, stream, *running, running->oldest());
}

// Connect: the events of a running command from the oldest output still kept.
void connect(E2b& e2b, Context& context, ServerStream& stream) {
  OwnedSandbox owned = e2b.envd_sandbox(context);
  const Caps::Slot streaming = e2b.service().caps().take_stream(context.caller);
  std::shared_ptr<RunningProcess> running = select(e2b, context, stream.request(), *owned.handle);
  stream.send(event({{"start", {{"pid", running->pid()}}}}));
  follow(context, stream, *running, running->oldest());
}

// ProcessInput: {"stdin": base64} or {"pty": base64}.
void write_input(RunningProcess& running, const json::object* input) {
  if (input == nullptr) throw Error(Errc::invalid_argument, "field 'input': required");
  std::string data = string_field(*input, "stdin");
  if (data.empty()) data = string_field(*input, "pty");
  running.write_stdin(base64_decode(data));
}

int signal_of(const json::object& message) {
  const json::value* value = message.if_contains("signal");
  if (value != nullptr && value->is_string()) {
    if (value->as_string() == "SIGNAL_SIGKILL") return 9;
    if (value->as_string() == "SIGNAL_SIGTERM") return 15;
  } else if (auto number = integer_field(message, "signal"); number && (*number == 9 || *number == 15)) {
    return static_cast<int>(*number);
  }
  throw Error(Errc::invalid_argument, "field 'signal': expected SIGNAL_SIGKILL or SIGNAL_SIGTERM");
}

}  // namespace

void add_process_routes(Router& router, const std::shared_ptr<E2b>& e2b) {
  const std::string base = "/e2b/envd/process.Process/";
  router.add("POST", base + "Start", server_stream_handler([e2b](Context& context, ServerStream& stream) {
               start(*e2b, context, stream);
             }), true);
  router.add("POST", base + "Connect", server_stream_handler([e2b](Context& context, ServerStream& stream) {
               connect(*e2b, context, stream);
             }), true);
  router.add("POST", base + "List", unary_handler([e2b](Context& context) {
               OwnedSandbox owned = e2b->envd_sandbox(context);
               read_unary(context);
               json::array processes;
               for (const auto& running : e2b->service().processes().list(owned.handle->id()))
                 processes.push_back(process_info(*running));
               answer_unary(context, json::object{{"processes", std::move(processes)}});
             }), true);
  router.add("POST", base + "SendInput", unary_handler([e2b](Context& context) {
               OwnedSandbox owned = e2b->envd_sandbox(context);
               const json::object message = read_unary(context);
               write_input(*select(*e2b, context, message, *owned.handle), object_field(message, "input"));
               answer_unary(context, json::object{});
             }), true);
  router.add("POST", base + "StreamInput", unary_handler([e2b](Context& context) {
               OwnedSandbox owned = e2b->envd_sandbox(context);
               EnvelopeReader reader(context);
               std::shared_ptr<RunningProcess> running;
               while (auto message = reader.next()) {
                 if (const json::object* first = object_field(*message, "start")) {
                   running = select(*e2b, context, *first, *owned.handle);
                 } else if (const json::object* data = object_field(*message, "data")) {
                   if (!running) throw Error(Errc::invalid_argument, "StreamInput: the first message must be 'start' naming the process");
                   write_input(*running, object_field(*data, "input"));
                 }
               }
               // A client-streaming answer is one envelope and the end-stream one.
               context.exchange.begin_stream(200, "application/connect+json");
               context.exchange.write_chunk(std::string("\0\0\0\0\x02{}", 7));
               context.exchange.write_chunk(std::string("\x02\0\0\0\x02{}", 7));
               context.exchange.end_stream();
             }), true);
  router.add("POST", base + "SendSignal", unary_handler([e2b](Context& context) {
               OwnedSandbox owned = e2b->envd_sandbox(context);
               const json::object message = read_unary(context);
               select(*e2b, context, message, *owned.handle)->kill(signal_of(message));
               answer_unary(context, json::object{});
             }), true);
  router.add("POST", base + "CloseStdin", unary_handler([e2b](Context& context) {
               OwnedSandbox owned = e2b->envd_sandbox(context);
               const json::object message = read_unary(context);
               select(*e2b, context, message, *owned.handle)->close_stdin();
               answer_unary(context, json::object{});
             }), true);
  router.add("POST", base + "Update", unary_handler([e2b](Context& context) {
               OwnedSandbox owned = e2b->envd_sandbox(context);
               const json::object message = read_unary(context);
               std::shared_ptr<RunningProcess> running = select(*e2b, context, message, *owned.handle);
               if (const json::object* pty = object_field(message, "pty"))
                 if (const json::object* size = object_field(*pty, "size"))
                   running->resize(static_cast<std::uint16_t>(std::clamp<std::int64_t>(integer_field(*size, "cols").value_or(80), 1, 65535)),
                                   static_cast<std::uint16_t>(std::clamp<std::int64_t>(integer_field(*size, "rows").value_or(24), 1, 65535)));
               answer_unary(context, json::object{});
             }), true);
}

}  // namespace hutch::server::e2b
