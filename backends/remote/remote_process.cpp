#include "remote_process.hpp"

#include "exec_request_json.hpp"

#include <hutch/error.hpp>
#include <hutch/log.hpp>

#include <spdlog/spdlog.h>

#include <boost/json.hpp>

namespace hutch::remote {

namespace json = boost::json;

namespace {

json::object parse_message(const std::string& text) {
  boost::system::error_code ec;
  json::value value = json::parse(text, ec);
  if (ec || !value.is_object()) throw Error(Errc::backend, "the service sent a stream message that is not a JSON object: " + text.substr(0, 200));
  return std::move(value.as_object());
}

std::string type_of(const json::object& message) {
  const auto* type = message.if_contains("type");
  return type && type->is_string() ? std::string(type->as_string()) : "";
}

// The error an `error` message carries.
[[noreturn]] void throw_message_error(const std::string& text) { throw_service_error(500, text, "streamed command"); }

}  // namespace

RemoteProcess::RemoteProcess(std::unique_ptr<CommandSocket> socket, const ExecRequest& request)
    : socket_(std::move(socket)), output_limit_(request.output_limit), tty_(request.tty), stdin_open_(!request.stdin_data) {
  json::object first = json_io::to_json(request);
  first["type"] = "request";
  socket_->write(true, json::serialize(first));
  auto answer = socket_->read();
  if (!answer) throw Error(Errc::io, "the service closed the stream before starting the command");
  if (!answer->text) throw Error(Errc::backend, "the service sent output before saying the command started");
  const json::object message = parse_message(answer->data);
  if (type_of(message) == "error") throw_message_error(answer->data);
  if (type_of(message) != "started")
    throw Error(Errc::backend, "the service's first stream message is not 'started': " + answer->data.substr(0, 200));
}

RemoteProcess::~RemoteProcess() {
  if (ended_) return;
  try {
    kill(9);
    socket_->close();
  } catch (const std::exception& error) {
    logger()->debug("ending a remote command: {}", error.what());
  }
}

std::optional<OutputChunk> RemoteProcess::read_output() {
  while (!ended_) {
    auto message = socket_->read();
    if (!message) throw Error(Errc::io, "the stream of a remote command ended before its exit status came");
    if (!message->text) {
      if (message->data.empty() || (message->data[0] != 1 && message->data[0] != 2))
        throw Error(Errc::backend, "the service sent a binary frame whose stream id is not 1 or 2");
      return OutputChunk{message->data[0] == 1 ? StreamId::stdout_stream : StreamId::stderr_stream, message->data.substr(1)};
    }
    const json::object control = parse_message(message->data);
    const std::string type = type_of(control);
    if (type == "exit") {
      result_ = json_io::exec_result_from_json(control);
      ended_ = true;
    } else if (type == "error") {
      // A message of ours the service could not apply; the stream goes on.
      logger()->debug("remote command: the service refused a message: {}", message->data);
    }
  }
  return std::nullopt;
}

ExecResult RemoteProcess::wait() {
  ExecResult unread;
  while (auto chunk = read_output()) {
    std::string& data = chunk->stream == StreamId::stdout_stream ? unread.stdout_data : unread.stderr_data;
    bool& truncated = chunk->stream == StreamId::stdout_stream ? unread.stdout_truncated : unread.stderr_truncated;
    const std::size_t room = output_limit_ > data.size() ? output_limit_ - data.size() : 0;
    if (chunk->data.size() > room) truncated = true;
    data.append(chunk->data, 0, std::min<std::size_t>(room, chunk->data.size()));
  }
  ExecResult result = *result_;
  result.stdout_data += unread.stdout_data;
  result.stderr_data += unread.stderr_data;
  result.stdout_truncated = result.stdout_truncated || unread.stdout_truncated;
  result.stderr_truncated = result.stderr_truncated || unread.stderr_truncated;
  // Later calls return the same result.
  result_ = result;
  return result;
}

void RemoteProcess::write_stdin(std::string_view data) {
  std::lock_guard lock(stdin_mutex_);
  if (!stdin_open_) throw Error(Errc::state, "the command's stdin is closed (or it was started with stdin data)");
  if (ended_) throw Error(Errc::io, "the command has ended; its stdin is closed");
  std::string frame(1, '\0');
  frame.append(data);
  socket_->write(false, frame);
}

void RemoteProcess::close_stdin() {
  std::lock_guard lock(stdin_mutex_);
  if (!stdin_open_) return;
  stdin_open_ = false;
  send_control(R"({"type":"close_stdin"})", true);
}

void RemoteProcess::kill(int signal) {
  if (ended_) return;
  send_control(json::serialize(json::object{{"type", "signal"}, {"signal", signal}}), true);
}

void RemoteProcess::resize(std::uint16_t cols, std::uint16_t rows) {
  if (!tty_) throw Error(Errc::state, "the command was started without a terminal; it cannot be resized");
  if (ended_) return;
  send_control(json::serialize(json::object{{"type", "resize"}, {"cols", cols}, {"rows", rows}}), true);
}

void RemoteProcess::send_control(const std::string& message, bool ignore_gone) {
  try {
    socket_->write(true, message);
  } catch (const Error& error) {
    if (!ignore_gone || error.code() != Errc::io) throw;
  }
}

}  // namespace hutch::remote
