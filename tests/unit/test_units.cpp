#include <hutch/error.hpp>
#include <hutch/units.hpp>

#include "error_of.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <cstdint>
#include <limits>
#include <string>
#include <utility>

namespace hutch {
namespace {

using namespace std::chrono_literals;

constexpr std::uint64_t KiB = 1024;
constexpr std::uint64_t MiB = 1024 * KiB;
constexpr std::uint64_t GiB = 1024 * MiB;
constexpr std::uint64_t TiB = 1024 * GiB;

// The message of the invalid_argument error `fn` throws; fails the test if it throws none.
template <class Fn>
std::string invalid_argument_message(Fn&& fn) {
  return test::message_of(Errc::invalid_argument, std::forward<Fn>(fn));
}

TEST(ParseSize, AcceptsTheDocumentedForms) {
  EXPECT_EQ(parse_size("0"), 0u);
  EXPECT_EQ(parse_size("512"), 512u);
  EXPECT_EQ(parse_size("512b"), 512u);
  EXPECT_EQ(parse_size("64k"), 64 * KiB);
  EXPECT_EQ(parse_size("512m"), 512 * MiB);
  EXPECT_EQ(parse_size("1g"), GiB);
  EXPECT_EQ(parse_size("1.5g"), GiB + GiB / 2);
  EXPECT_EQ(parse_size("2t"), 2 * TiB);
}

TEST(ParseSize, IsCaseInsensitiveAndAcceptsLongUnits) {
  EXPECT_EQ(parse_size("64K"), 64 * KiB);
  EXPECT_EQ(parse_size("64kb"), 64 * KiB);
  EXPECT_EQ(parse_size("64KiB"), 64 * KiB);
  EXPECT_EQ(parse_size("3MB"), 3 * MiB);
  EXPECT_EQ(parse_size("3mib"), 3 * MiB);
  EXPECT_EQ(parse_size("2GiB"), 2 * GiB);
  EXPECT_EQ(parse_size(" 7m "), 7 * MiB);
}

TEST(ParseSize, RoundsFractionsToTheNearestByte) {
  EXPECT_EQ(parse_size("0.5k"), 512u);
  EXPECT_EQ(parse_size("1.3g"), 1395864371u);  // 1395864371.2
  EXPECT_EQ(parse_size("1.0"), 1u);
}

TEST(ParseSize, RejectsJunkWithTheTextAndTheAcceptedForms) {
  std::string message = invalid_argument_message([] { parse_size("lots"); });
  EXPECT_EQ(message,
            "size 'lots' is not a number: expected a number of bytes with an optional unit b, k, "
            "m, g, t or p (binary multiples: k = 1024; kb and kib mean the same), e.g. \"512\", "
            "\"64k\", \"512m\", \"1.5g\"");
}

TEST(ParseSize, RejectsEachKindOfBadText) {
  struct Case {
    const char* text;
    const char* reason;
  };
  for (const Case& c : {Case{"", "size '' is empty"}, Case{"   ", "size '   ' is empty"},
                        Case{"-1", "size '-1' is negative"}, Case{"-5m", "size '-5m' is negative"},
                        Case{"12q", "size '12q' has an unknown unit 'q'"},
                        Case{"1m2", "size '1m2' has an unknown unit 'm2'"},
                        Case{"1.5", "size '1.5' is a fraction of a byte"},
                        Case{"1.", "size '1.' is not a number"},
                        Case{".5g", "size '.5g' is not a number"},
                        Case{"m", "size 'm' is not a number"},
                        Case{"18446744073709551616", "size '18446744073709551616' is not a number"},
                        Case{"16777216t", "size '16777216t' is too large"}}) {
    std::string message = invalid_argument_message([&] { parse_size(c.text); });
    EXPECT_EQ(message.rfind(c.reason, 0), 0u) << "text '" << c.text << "' gave: " << message;
  }
}

TEST(ParseSize, AcceptsTheLargestValue) {
  EXPECT_EQ(parse_size("18446744073709551615"), std::numeric_limits<std::uint64_t>::max());
}

TEST(ParseDuration, AcceptsTheDocumentedForms) {
  EXPECT_EQ(parse_duration("250ms"), 250ms);
  EXPECT_EQ(parse_duration("30s"), 30s);
  EXPECT_EQ(parse_duration("10m"), 10min);
  EXPECT_EQ(parse_duration("2h"), 2h);
  EXPECT_EQ(parse_duration("1d"), 24h);
  EXPECT_EQ(parse_duration("1h30m"), 90min);
  EXPECT_EQ(parse_duration("1d2h3m4s5ms"), 24h + 2h + 3min + 4s + 5ms);
  EXPECT_EQ(parse_duration("45"), 45s);
  EXPECT_EQ(parse_duration("1.5"), 1500ms);
  EXPECT_EQ(parse_duration("1.5h"), 90min);
  EXPECT_EQ(parse_duration("0"), 0ms);
  EXPECT_EQ(parse_duration("30S"), 30s);
}

TEST(ParseDuration, RejectsJunkWithTheTextAndTheAcceptedForms) {
  std::string message = invalid_argument_message([] { parse_duration("soon"); });
  EXPECT_EQ(message,
            "duration 'soon' is not a number with a unit: expected a number with a unit ms, s, m, "
            "h or d, units from largest to smallest (e.g. \"250ms\", \"30s\", \"10m\", \"1h30m\", "
            "\"1d\"), or a bare number of seconds");
}

TEST(ParseDuration, RejectsEachKindOfBadText) {
  struct Case {
    const char* text;
    const char* reason;
  };
  for (const Case& c :
       {Case{"", "duration '' is empty"}, Case{"-5s", "duration '-5s' is negative"},
        Case{"5x", "duration '5x' has an unknown unit 'x'"},
        Case{"1h30", "duration '1h30' has a number without a unit"},
        Case{"30m1h", "duration '30m1h' repeats a unit or lists units out of order"},
        Case{"1s1s", "duration '1s1s' repeats a unit or lists units out of order"},
        Case{"1h-5m", "duration '1h-5m' is not a number with a unit"},
        Case{"h", "duration 'h' is not a number with a unit"},
        Case{"106751991167301d", "duration '106751991167301d' is too long"},
        Case{"9223372036854775807s", "duration '9223372036854775807s' is too long"}}) {
    std::string message = invalid_argument_message([&] { parse_duration(c.text); });
    EXPECT_EQ(message.rfind(c.reason, 0), 0u) << "text '" << c.text << "' gave: " << message;
  }
}

TEST(FormatSize, UsesTheLargestExactUnit) {
  EXPECT_EQ(format_size(0), "0b");
  EXPECT_EQ(format_size(100), "100b");
  EXPECT_EQ(format_size(64 * KiB), "64k");
  EXPECT_EQ(format_size(512 * MiB), "512m");
  EXPECT_EQ(format_size(GiB + GiB / 2), "1.5g");
  EXPECT_EQ(format_size(1025 * KiB), "1025k");
  EXPECT_EQ(format_size(2 * TiB), "2t");
  EXPECT_EQ(format_size(1025), "1025b");
}

TEST(FormatSize, RoundTripsThroughParseSize) {
  const std::uint64_t cases[] = {0,       1,          1023,          KiB,
                                 KiB + 1, 1536 * KiB, MiB - 1,       3 * GiB / 4,
                                 1395864371, 7 * TiB + 5, std::numeric_limits<std::uint64_t>::max()};
  for (std::uint64_t bytes : cases) {
    std::string text = format_size(bytes);
    EXPECT_EQ(parse_size(text), bytes) << "formatted as '" << text << "'";
  }
}

TEST(FormatDuration, ListsPartsFromLargestToSmallest) {
  EXPECT_EQ(format_duration(0ms), "0s");
  EXPECT_EQ(format_duration(250ms), "250ms");
  EXPECT_EQ(format_duration(30s), "30s");
  EXPECT_EQ(format_duration(90min), "1h30m");
  EXPECT_EQ(format_duration(24h), "1d");
  EXPECT_EQ(format_duration(1500ms), "1s500ms");
  EXPECT_EQ(format_duration(-5s), "-5s");
}

TEST(FormatDuration, RoundTripsThroughParseDuration) {
  for (Duration d : {Duration{0}, Duration{1}, Duration{999}, Duration{61'001},
                     Duration{93'784'005}, Duration{std::numeric_limits<Duration::rep>::max()}}) {
    std::string text = format_duration(d);
    EXPECT_EQ(parse_duration(text), d) << "formatted as '" << text << "'";
  }
}

}  // namespace
}  // namespace hutch
