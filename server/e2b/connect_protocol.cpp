#include "connect_protocol.hpp"

#include "context.hpp"

#include <hutch/log.hpp>

#include <spdlog/spdlog.h>

#include <charconv>

namespace hutch::server::e2b {

namespace json = boost::json;

namespace {

constexpr std::uint8_t kEndStream = 0x02;
constexpr std::uint8_t kCompressed = 0x01;
constexpr std::size_t kMaxMessage = 16u << 20;

std::string envelope(std::uint8_t flags, const std::string& payload) {
  std::string frame(5, '\0');
  frame[0] = static_cast<char>(flags);
  const auto size = static_cast<std::uint32_t>(payload.size());
  for (int i = 0; i < 4; ++i) frame[1 + i] = static_cast<char>((size >> (24 - 8 * i)) & 0xff);
  return frame + payload;
}

json::object parse_message(std::string_view text, const char* what) {
  if (text.find_first_not_of(" \t\r\n") == std::string_view::npos) return {};
  boost::system::error_code ec;
  json::value value = json::parse(text, ec);
  if (ec || !value.is_object()) throw Error(Errc::invalid_argument, std::string(what) + " is not a JSON object");
  return std::move(value.as_object());
}

json::object error_json(Errc code, const std::string& message) {
  return json::object{{"code", connect_code(code)}, {"message", message}};
}

// A streaming call's whole answer when it fails before any message: HTTP 200 and the
// end-stream envelope holding the error.
void end_stream_with(Context& context, const Error& error) {
  context.exchange.begin_stream(200, "application/connect+json");
  json::object last{{"error", error_json(error.code(), error.what())}};
  context.exchange.write_chunk(envelope(kEndStream, json::serialize(last)));
  context.exchange.end_stream();
}

}  // namespace

void answer_unknown_procedure(Context& context) {
  drain_body(context);
  const std::string& path = context.request().path;
  const Error error(Errc::unsupported, "envd has no procedure " + path.substr(path.find('/', 1) + 1) +
                                          " (envd's services here: process.Process, filesystem.Filesystem)");
  const auto type = context.request().header("content-type");
  if (type && type->rfind("application/connect+", 0) == 0) return end_stream_with(context, error);
  context.exchange.respond(connect_http_status(error.code()), "application/json",
                           json::serialize(error_json(error.code(), error.what())));
}

const char* connect_code(Errc code) {
  switch (code) {
    case Errc::invalid_argument: case Errc::config: return "invalid_argument";
    case Errc::not_found: return "not_found";
    case Errc::already_exists: return "already_exists";
    case Errc::unsupported: return "unimplemented";
    case Errc::permission_denied: return "permission_denied";
    case Errc::timeout: return "deadline_exceeded";
    case Errc::state: return "failed_precondition";
    case Errc::unauthenticated: return "unauthenticated";
    case Errc::too_large: case Errc::rate_limited: return "resource_exhausted";
    case Errc::plugin: case Errc::backend: case Errc::io: return "internal";
  }
  return "unknown";
}

unsigned connect_http_status(Errc code) {
  switch (code) {
    case Errc::invalid_argument: case Errc::config: case Errc::state: return 400;
    case Errc::not_found: return 404;
    case Errc::already_exists: return 409;
    case Errc::unsupported: return 501;
    case Errc::permission_denied: return 403;
    case Errc::timeout: return 504;
    case Errc::unauthenticated: return 401;
    case Errc::too_large: case Errc::rate_limited: return 429;
    default: return 500;
  }
}

std::optional<std::chrono::milliseconds> connect_timeout(Context& context) {
  const auto header = context.request().header("connect-timeout-ms");
  if (!header) return std::nullopt;
  std::int64_t ms = 0;
  auto [end, ec] = std::from_chars(header->data(), header->data() + header->size(), ms);
  if (ec != std::errc() || end != header->data() + header->size() || ms <= 0)
    throw Error(Errc::invalid_argument, "header Connect-Timeout-Ms: expected a positive number, got '" + *header + "'");
  return std::chrono::milliseconds(ms);
}

json::object read_unary(Context& context) {
  return parse_message(context.exchange.read_body(kMaxMessage), "the request message");
}

void answer_unary(Context& context, const json::value& message) {
  context.exchange.respond(200, "application/json", json::serialize(message));
}

Handler unary_handler(std::function<void(Context&)> body) {
  return [body = std::move(body)](Context& context) {
    try {
      body(context);
    } catch (const Error& error) {
      if (context.exchange.responded()) throw;
      drain_body(context);
      context.exchange.respond(connect_http_status(error.code()), "application/json",
                               json::serialize(error_json(error.code(), error.what())));
    }
  };
}

ServerStream::ServerStream(Context& context) : context_(context) {
  const std::string body = context.exchange.read_body(kMaxMessage + 5);
  if (body.size() < 5) throw Error(Errc::invalid_argument, "the request is not a Connect envelope (application/connect+json)");
  if (static_cast<std::uint8_t>(body[0]) & kCompressed)
    throw Error(Errc::unsupported, "compressed Connect messages are not accepted");
  std::uint32_t size = 0;
  for (int i = 0; i < 4; ++i) size = (size << 8) | static_cast<std::uint8_t>(body[1 + i]);
  if (size != body.size() - 5) throw Error(Errc::invalid_argument, "the request envelope's length does not match its body");
  request_ = parse_message(std::string_view(body).substr(5), "the request message");
}

ServerStream::~ServerStream() {
  if (ended_) return;
  try {
    end();
  } catch (const Error&) {
  }
}

void ServerStream::send(const json::value& message) {
  if (!begun_) context_.exchange.begin_stream(200, "application/connect+json");
  begun_ = true;
  context_.exchange.write_chunk(envelope(0, json::serialize(message)));
}

void ServerStream::end(const Error* error) {
  ended_ = true;
  if (!begun_) context_.exchange.begin_stream(200, "application/connect+json");
  begun_ = true;
  json::object last;
  if (error) last["error"] = error_json(error->code(), error->what());
  context_.exchange.write_chunk(envelope(kEndStream, json::serialize(last)));
  context_.exchange.end_stream();
}

Handler server_stream_handler(std::function<void(Context&, ServerStream&)> body) {
  return [body = std::move(body)](Context& context) {
    std::optional<ServerStream> stream;
    try {
      try {
        stream.emplace(context);
        body(context, *stream);
        stream->end();
      } catch (const Error&) {
        throw;
      } catch (const std::exception& unexpected) {
        // Never a clean end for a call that failed.
        throw Error(Errc::backend, std::string("internal error: ") + unexpected.what());
      }
    } catch (const Error& error) {
      if (!stream) {
        // No stream yet (a malformed request): the error still goes out as an end-stream.
        end_stream_with(context, error);
        return;
      }
      try {
        stream->end(&error);
      } catch (const Error& write_error) {
        logger()->info("a Connect stream ended early: {}", write_error.what());
      }
    }
  };
}

std::optional<json::object> EnvelopeReader::next() {
  while (!done_) {
    if (buffer_.size() >= 5) {
      std::uint32_t size = 0;
      for (int i = 0; i < 4; ++i) size = (size << 8) | static_cast<std::uint8_t>(buffer_[1 + i]);
      if (size > kMaxMessage) throw Error(Errc::too_large, "a Connect message is larger than 16 MiB");
      if (buffer_.size() >= 5 + size) {
        const auto flags = static_cast<std::uint8_t>(buffer_[0]);
        std::string payload = buffer_.substr(5, size);
        buffer_.erase(0, 5 + size);
        if (flags & kEndStream) {
          done_ = true;
          return std::nullopt;
        }
        if (flags & kCompressed) throw Error(Errc::unsupported, "compressed Connect messages are not accepted");
        return parse_message(payload, "a request message");
      }
    }
    const std::string_view chunk = context_.exchange.read_body_chunk();
    if (chunk.empty()) {
      done_ = true;
      if (!buffer_.empty()) throw Error(Errc::invalid_argument, "the request body ends inside a Connect envelope");
      return std::nullopt;
    }
    buffer_.append(chunk);
  }
  return std::nullopt;
}

std::string string_field(const json::object& message, const char* name) {
  const json::value* value = message.if_contains(name);
  if (value == nullptr || value->is_null()) return {};
  if (!value->is_string()) throw Error(Errc::invalid_argument, std::string("field '") + name + "': expected a string");
  return std::string(value->as_string());
}

std::optional<std::int64_t> integer_field(const json::object& message, const char* name) {
  const json::value* value = message.if_contains(name);
  if (value == nullptr || value->is_null()) return std::nullopt;
  if (value->is_int64()) return value->as_int64();
  if (value->is_uint64()) return static_cast<std::int64_t>(value->as_uint64());
  if (value->is_string()) {
    const auto& text = value->as_string();
    std::int64_t number = 0;
    auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), number);
    if (ec == std::errc() && end == text.data() + text.size()) return number;
  }
  throw Error(Errc::invalid_argument, std::string("field '") + name + "': expected an integer");
}

bool bool_field(const json::object& message, const char* name) {
  const json::value* value = message.if_contains(name);
  if (value == nullptr || value->is_null()) return false;
  if (!value->is_bool()) throw Error(Errc::invalid_argument, std::string("field '") + name + "': expected true or false");
  return value->as_bool();
}

const json::object* object_field(const json::object& message, const char* name) {
  const json::value* value = message.if_contains(name);
  if (value == nullptr || value->is_null()) return nullptr;
  if (!value->is_object()) throw Error(Errc::invalid_argument, std::string("field '") + name + "': expected an object");
  return &value->as_object();
}

}  // namespace hutch::server::e2b
