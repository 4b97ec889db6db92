// Splits Docker's multiplexed attach/exec stream into stdout and stderr.
//
// Each frame is an 8-byte header — stream type (0 stdin, 1 stdout, 2 stderr), three zero
// bytes, a big-endian u32 payload size — followed by the payload. Reads from the socket do
// not respect frame boundaries: a header or payload may span several reads and one read may
// hold several frames, so the demuxer keeps its position across feed() calls and hands out
// payload bytes as soon as they arrive (a large frame is never buffered whole).
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <string_view>

namespace hutch::docker {

enum class FrameStream : std::uint8_t { stdin_stream = 0, stdout_stream = 1, stderr_stream = 2 };

class FrameDemuxer {
 public:
  using Sink = std::function<void(FrameStream stream, std::string_view payload)>;

  // Consumes all of `bytes`, calling `sink` for each run of payload bytes (possibly part of a
  // frame). Throws Errc::io for a malformed header (unknown stream type, non-zero padding).
  void feed(std::string_view bytes, const Sink& sink);

  // True when the bytes fed so far end exactly at a frame boundary; at end of stream anything
  // else means the stream was cut.
  bool at_boundary() const { return header_filled_ == 0 && payload_left_ == 0; }

 private:
  unsigned char header_[8] = {};
  std::size_t header_filled_ = 0;
  std::uint32_t payload_left_ = 0;
  FrameStream current_ = FrameStream::stdout_stream;
};

}  // namespace hutch::docker
