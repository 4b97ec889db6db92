#include "engine/frame_demuxer.hpp"

#include <hutch/error.hpp>

#include <gtest/gtest.h>

#include <string>
#include <utility>
#include <vector>

namespace hutch::docker {
namespace {

std::string frame(std::uint8_t stream, const std::string& payload) {
  std::string out(8, '\0');
  out[0] = static_cast<char>(stream);
  auto size = static_cast<std::uint32_t>(payload.size());
  out[4] = static_cast<char>(size >> 24);
  out[5] = static_cast<char>(size >> 16);
  out[6] = static_cast<char>(size >> 8);
  out[7] = static_cast<char>(size);
  return out + payload;
}

struct Collected {
  std::string out;
  std::string err;
  std::string order;  // stream of each non-empty piece, merged when adjacent: "oeo"
};

Collected feed_in_pieces(const std::string& stream, const std::vector<std::size_t>& cuts) {
  FrameDemuxer demuxer;
  Collected collected;
  auto sink = [&](FrameStream which, std::string_view payload) {
    char tag = which == FrameStream::stderr_stream ? 'e' : 'o';
    (which == FrameStream::stderr_stream ? collected.err : collected.out).append(payload);
    if (!payload.empty() && (collected.order.empty() || collected.order.back() != tag)) collected.order += tag;
  };
  std::size_t start = 0;
  for (std::size_t cut : cuts) {
    demuxer.feed(std::string_view(stream).substr(start, cut - start), sink);
    start = cut;
  }
  demuxer.feed(std::string_view(stream).substr(start), sink);
  EXPECT_TRUE(demuxer.at_boundary());
  return collected;
}

// A stream with an empty frame, a payload longer than 255 bytes (size spans two bytes) and
// frames of both kinds back to back.
std::string sample_stream() {
  return frame(1, "hello ") + frame(2, "oops\n") + frame(1, "") + frame(1, std::string(300, 'x')) +
         frame(2, "E") + frame(1, "end");
}

TEST(FrameDemuxer, WholeStreamInOneRead) {
  auto got = feed_in_pieces(sample_stream(), {});
  EXPECT_EQ(got.out, "hello " + std::string(300, 'x') + "end");
  EXPECT_EQ(got.err, "oops\nE");
  EXPECT_EQ(got.order, "oeoeo");
}

TEST(FrameDemuxer, EverySingleSplitPoint) {
  const std::string stream = sample_stream();
  for (std::size_t cut = 0; cut <= stream.size(); ++cut) {
    auto got = feed_in_pieces(stream, {cut});
    ASSERT_EQ(got.out, "hello " + std::string(300, 'x') + "end") << "split at byte " << cut;
    ASSERT_EQ(got.err, "oops\nE") << "split at byte " << cut;
    ASSERT_EQ(got.order, "oeoeo") << "split at byte " << cut;
  }
}

TEST(FrameDemuxer, EveryPairOfSplitPoints) {
  const std::string stream = frame(1, "ab") + frame(2, "cde") + frame(1, "f");
  for (std::size_t first = 0; first <= stream.size(); ++first)
    for (std::size_t second = first; second <= stream.size(); ++second) {
      auto got = feed_in_pieces(stream, {first, second});
      ASSERT_EQ(got.out, "abf") << first << "," << second;
      ASSERT_EQ(got.err, "cde") << first << "," << second;
    }
}

TEST(FrameDemuxer, ByteAtATime) {
  const std::string stream = sample_stream();
  std::vector<std::size_t> cuts;
  for (std::size_t i = 1; i < stream.size(); ++i) cuts.push_back(i);
  auto got = feed_in_pieces(stream, cuts);
  EXPECT_EQ(got.out, "hello " + std::string(300, 'x') + "end");
  EXPECT_EQ(got.err, "oops\nE");
}

TEST(FrameDemuxer, ReportsACutStream) {
  FrameDemuxer demuxer;
  std::string stream = frame(1, "abcdef");
  demuxer.feed(std::string_view(stream).substr(0, 10), [](FrameStream, std::string_view) {});
  EXPECT_FALSE(demuxer.at_boundary());
}

TEST(FrameDemuxer, RejectsAMalformedHeader) {
  FrameDemuxer demuxer;
  std::string bad = frame(1, "x");
  bad[2] = 1;  // padding must be zero
  try {
    demuxer.feed(bad, [](FrameStream, std::string_view) {});
    FAIL() << "a malformed header was accepted";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), Errc::io);
    EXPECT_NE(std::string(e.what()).find("malformed frame header"), std::string::npos) << e.what();
  }
  FrameDemuxer other;
  EXPECT_THROW(other.feed(frame(7, "x"), [](FrameStream, std::string_view) {}), Error);
}

}  // namespace
}  // namespace hutch::docker
