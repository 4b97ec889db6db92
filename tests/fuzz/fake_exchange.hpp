// An Exchange and a WebSocket over a fuzz input instead of a connection, for the targets that
// call the service's decoding directly (stream frames, Connect envelopes): the client's side is
// the input, what the service answers is counted and dropped.
#pragma once

#include "exchange.hpp"

#include <cstddef>
#include <string>
#include <vector>

namespace hutch::fuzz {

// The client's messages, in order; then the client is gone (read() is nullopt, write() fails
// with Errc::io as for a closed connection).
class FakeWebSocket final : public server::WebSocket {
 public:
  explicit FakeWebSocket(std::vector<Message> messages) : messages_(std::move(messages)) {}
  std::optional<Message> read() override;
  void write(bool text, std::string_view data) override;
  void close(std::uint16_t code, std::string_view reason) override;
  std::size_t bytes_written() const { return written_; }

 private:
  std::vector<Message> messages_;
  std::size_t next_ = 0;
  std::size_t written_ = 0;
};

// A request whose body arrives in `pieces`, as read_body_chunk() returns them.
class FakeExchange final : public server::Exchange {
 public:
  FakeExchange(server::Request request, std::vector<std::string> pieces, std::vector<server::WebSocket::Message> messages = {})
      : request_(std::move(request)), pieces_(std::move(pieces)), socket_(std::move(messages)) {}

  server::Request& request() override { return request_; }
  std::string_view read_body_chunk() override;
  std::string read_body(std::uint64_t limit) override;
  void respond(unsigned status, std::string_view content_type, std::string body, const server::Headers& headers = {}) override;
  void begin_stream(unsigned status, std::string_view content_type) override;
  void write_chunk(std::string_view data) override;
  void end_stream() override;
  server::WebSocket& accept_websocket() override;
  void tunnel(int upstream, std::size_t strip_segments, const std::vector<std::string>& drop_headers,
              std::shared_ptr<void> held) override;
  bool responded() const override { return responded_; }

  unsigned status() const { return status_; }

 private:
  server::Request request_;
  std::vector<std::string> pieces_;
  std::size_t next_piece_ = 0;
  FakeWebSocket socket_;
  bool responded_ = false;
  bool streaming_ = false;
  unsigned status_ = 0;
};

// The fuzz input as client messages: separated by "\n--\n"; a message starting with 'T' is a
// text frame, any other a binary one, the rest of it the payload. Readable seeds, and a
// separator the fuzzer finds at once.
std::vector<server::WebSocket::Message> split_messages(std::string_view input);

}  // namespace hutch::fuzz
