// libFuzzer target: E2B's Connect envelopes and messages (server/e2b/connect_protocol.hpp), as
// envd's routes decode them. The input's first byte picks how the body arrives (pieces of 1-64
// bytes, or whole; with or without a Content-Length), the rest is the request body, read as
//   - a server-streaming call's request (server_stream_handler, ServerStream),
//   - a client-streaming call's envelopes (EnvelopeReader), and
//   - a unary call's message (read_unary),
// each message's fields read with the accessors envd's handlers use.
#include "e2b/connect_protocol.hpp"
#include "fake_exchange.hpp"
#include "fuzz_service.hpp"

#include <hutch/error.hpp>

#include <cstddef>
#include <cstdint>

using namespace hutch;
namespace e2b = hutch::server::e2b;
namespace json = boost::json;

namespace {

// Reads what envd's handlers read from a message: Process.Start's process, Filesystem's paths.
void read_fields(const json::object& message) {
  try {
    (void)e2b::string_field(message, "path");
    (void)e2b::integer_field(message, "depth");
    (void)e2b::bool_field(message, "recursive");
    if (const json::object* process = e2b::object_field(message, "process")) {
      (void)e2b::string_field(*process, "cmd");
      (void)e2b::string_field(*process, "cwd");
    }
    if (const json::object* selector = e2b::object_field(message, "process")) (void)e2b::integer_field(*selector, "pid");
    if (const json::object* input = e2b::object_field(message, "input")) (void)e2b::string_field(*input, "stdin");
  } catch (const Error&) {
  }
}

struct Call {
  Call(const std::string& body, std::size_t piece, bool with_length) {
    server::Request request;
    request.method = "POST";
    request.path = "/e2b/envd/process.Process/Start";
    if (with_length) request.content_length = body.size();
    std::vector<std::string> pieces;
    for (std::size_t at = 0; at < body.size(); at += piece) pieces.push_back(body.substr(at, piece));
    exchange.emplace(std::move(request), std::move(pieces));
    context.emplace(server::Context{fuzz::service(), *exchange, server::Caller{"local", std::nullopt}});
  }
  std::optional<fuzz::FakeExchange> exchange;
  std::optional<server::Context> context;
};

}  // namespace

// The service and its sandbox are made before the first input, outside the fuzzer's leak checks.
extern "C" int LLVMFuzzerInitialize(int*, char***) {
  (void)fuzz::sandbox_id();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  const std::uint8_t shape = data[0];
  const std::string body(reinterpret_cast<const char*>(data) + 1, size - 1);
  const std::size_t piece = (shape & 0x3f) == 0 ? std::max<std::size_t>(body.size(), 1) : (shape & 0x3f);
  const bool with_length = (shape & 0x40) != 0;

  {
    Call call(body, piece, with_length);
    const server::Handler handler = e2b::server_stream_handler([](server::Context&, e2b::ServerStream& stream) {
      read_fields(stream.request());
      stream.send(json::object{{"event", json::object{}}});
    });
    handler(*call.context);
  }
  {
    Call call(body, piece, with_length);
    try {
      e2b::EnvelopeReader reader(*call.context);
      while (auto message = reader.next()) read_fields(*message);
    } catch (const Error&) {
    }
  }
  {
    Call call(body, piece, with_length);
    try {
      read_fields(e2b::read_unary(*call.context));
    } catch (const Error&) {
    }
  }
  return 0;
}
