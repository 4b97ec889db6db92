#include "fake_exchange.hpp"

#include <hutch/error.hpp>

namespace hutch::fuzz {

std::optional<server::WebSocket::Message> FakeWebSocket::read() {
  if (next_ == messages_.size()) return std::nullopt;
  return messages_[next_++];
}

void FakeWebSocket::write(bool, std::string_view data) {
  if (next_ == messages_.size()) throw Error(Errc::io, "writing to the WebSocket: the client is gone");
  written_ += data.size();
}

void FakeWebSocket::close(std::uint16_t, std::string_view) {}

std::string_view FakeExchange::read_body_chunk() {
  while (next_piece_ < pieces_.size()) {
    const std::string& piece = pieces_[next_piece_++];
    if (!piece.empty()) return piece;
  }
  return {};
}

std::string FakeExchange::read_body(std::uint64_t limit) {
  if (request_.content_length && *request_.content_length > limit)
    throw Error(Errc::too_large, "the request body is larger than " + std::to_string(limit) + " bytes");
  std::string body;
  for (std::string_view chunk = read_body_chunk(); !chunk.empty(); chunk = read_body_chunk()) {
    if (body.size() + chunk.size() > limit)
      throw Error(Errc::too_large, "the request body is larger than " + std::to_string(limit) + " bytes");
    body.append(chunk);
  }
  return body;
}

void FakeExchange::respond(unsigned status, std::string_view, std::string, const server::Headers&) {
  if (responded_) throw Error(Errc::backend, "fuzz: a second response to one request");
  responded_ = true;
  status_ = status;
}

void FakeExchange::begin_stream(unsigned status, std::string_view) {
  if (responded_) throw Error(Errc::backend, "fuzz: a stream begun after a response");
  responded_ = true;
  streaming_ = true;
  status_ = status;
}

void FakeExchange::write_chunk(std::string_view) {
  if (!streaming_) throw Error(Errc::backend, "fuzz: a chunk written outside a stream");
}

void FakeExchange::end_stream() {
  if (!streaming_) throw Error(Errc::backend, "fuzz: a stream ended that was not begun");
  streaming_ = false;
}

server::WebSocket& FakeExchange::accept_websocket() {
  responded_ = true;
  status_ = 101;
  return socket_;
}

void FakeExchange::tunnel(int, std::size_t, const std::vector<std::string>&, std::shared_ptr<void>) {
  throw Error(Errc::unsupported, "fuzz: no tunnel");
}

std::vector<server::WebSocket::Message> split_messages(std::string_view input) {
  static constexpr std::string_view kSeparator = "\n--\n";
  std::vector<server::WebSocket::Message> messages;
  for (;;) {
    const std::size_t end = input.find(kSeparator);
    const std::string_view part = input.substr(0, end);
    if (!part.empty()) messages.push_back({part.front() == 'T', std::string(part.substr(1))});
    if (end == std::string_view::npos) break;
    input.remove_prefix(end + kSeparator.size());
  }
  return messages;
}

}  // namespace hutch::fuzz
