#include "engine/frame_demuxer.hpp"

#include <hutch/error.hpp>

#include <algorithm>
#include <string>

namespace hutch::docker {

void FrameDemuxer::feed(std::string_view bytes, const Sink& sink) {
  while (!bytes.empty()) {
    if (payload_left_ == 0) {
      std::size_t take = std::min(bytes.size(), sizeof(header_) - header_filled_);
      std::copy_n(bytes.data(), take, header_ + header_filled_);
      header_filled_ += take;
      bytes.remove_prefix(take);
      if (header_filled_ < sizeof(header_)) return;
      header_filled_ = 0;
      if (header_[0] > 2 || header_[1] != 0 || header_[2] != 0 || header_[3] != 0)
        throw Error(Errc::io, "docker stream: malformed frame header (type byte " +
                                  std::to_string(header_[0]) +
                                  "); the connection is out of step with the daemon");
      current_ = static_cast<FrameStream>(header_[0]);
      payload_left_ = (std::uint32_t{header_[4]} << 24) | (std::uint32_t{header_[5]} << 16) |
                      (std::uint32_t{header_[6]} << 8) | std::uint32_t{header_[7]};
      continue;
    }
    std::size_t take = std::min<std::size_t>(bytes.size(), payload_left_);
    sink(current_, bytes.substr(0, take));
    payload_left_ -= static_cast<std::uint32_t>(take);
    bytes.remove_prefix(take);
  }
}

}  // namespace hutch::docker
