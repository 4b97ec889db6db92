// Sizes and durations as people write them. Arithmetic is done on integers (with a 128-bit
// intermediate for fractions) so "1.5g" is exactly 1610612736 and formatting round-trips.
#include <hutch/error.hpp>
#include <hutch/units.hpp>

#include <array>
#include <cctype>
#include <cstdint>
#include <limits>
#include <optional>
#include <string>
#include <string_view>

namespace hutch {
namespace {

constexpr std::string_view kSizeForms =
    "a number of bytes with an optional unit b, k, m, g, t or p (binary multiples: k = 1024; "
    "kb and kib mean the same), e.g. \"512\", \"64k\", \"512m\", \"1.5g\"";
constexpr std::string_view kDurationForms =
    "a number with a unit ms, s, m, h or d, units from largest to smallest "
    "(e.g. \"250ms\", \"30s\", \"10m\", \"1h30m\", \"1d\"), or a bare number of seconds";

__extension__ typedef unsigned __int128 u128;  // GCC/Clang extension, exact 64x64-bit products

// A decimal number as written: "12.50" -> whole 12, fraction 50, fraction_digits 2.
struct Decimal {
  std::uint64_t whole = 0;
  std::uint64_t fraction = 0;
  unsigned fraction_digits = 0;
};

// At most 18 fraction digits keep fraction * 10^k inside 64 bits; more is never meaningful here.
constexpr unsigned kMaxFractionDigits = 18;

std::string lower(std::string_view text) {
  std::string out(text);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

std::string_view trim(std::string_view text) {
  while (!text.empty() && std::isspace(static_cast<unsigned char>(text.front()))) text.remove_prefix(1);
  while (!text.empty() && std::isspace(static_cast<unsigned char>(text.back()))) text.remove_suffix(1);
  return text;
}

u128 pow10(unsigned n) {
  u128 v = 1;
  while (n-- > 0) v *= 10;
  return v;
}

// Reads a decimal number at the front of `text` and removes it. nullopt when there is no
// digit first, when the whole part overflows, or when a '.' has no digit after it.
std::optional<Decimal> take_decimal(std::string_view& text) {
  Decimal d;
  std::size_t i = 0;
  if (i >= text.size() || !std::isdigit(static_cast<unsigned char>(text[i]))) return std::nullopt;
  for (; i < text.size() && std::isdigit(static_cast<unsigned char>(text[i])); ++i) {
    unsigned digit = static_cast<unsigned>(text[i] - '0');
    if (d.whole > (std::numeric_limits<std::uint64_t>::max() - digit) / 10) return std::nullopt;
    d.whole = d.whole * 10 + digit;
  }
  if (i < text.size() && text[i] == '.') {
    ++i;
    std::size_t start = i;
    for (; i < text.size() && std::isdigit(static_cast<unsigned char>(text[i])); ++i) {
      if (d.fraction_digits == kMaxFractionDigits) continue;  // beyond precision: ignored
      d.fraction = d.fraction * 10 + static_cast<unsigned>(text[i] - '0');
      ++d.fraction_digits;
    }
    if (i == start) return std::nullopt;
  }
  text.remove_prefix(i);
  return d;
}

// whole * unit + round(fraction * unit), or nullopt when it exceeds `max`.
std::optional<std::uint64_t> scale(const Decimal& d, std::uint64_t unit, std::uint64_t max) {
  u128 value = static_cast<u128>(d.whole) * unit;
  if (d.fraction_digits > 0) {
    u128 denominator = pow10(d.fraction_digits);
    value += (static_cast<u128>(d.fraction) * unit + denominator / 2) / denominator;
  }
  if (value > max) return std::nullopt;
  return static_cast<std::uint64_t>(value);
}

[[noreturn]] void bad_size(std::string_view text, std::string_view why) {
  throw Error(Errc::invalid_argument, "size '" + std::string(text) + "' " + std::string(why) +
                                          ": expected " + std::string(kSizeForms));
}

[[noreturn]] void bad_duration(std::string_view text, std::string_view why) {
  throw Error(Errc::invalid_argument, "duration '" + std::string(text) + "' " +
                                          std::string(why) + ": expected " +
                                          std::string(kDurationForms));
}

std::optional<std::uint64_t> size_unit(const std::string& suffix) {
  struct Unit {
    std::string_view letter;
    std::uint64_t bytes;
  };
  static constexpr std::array<Unit, 5> units{{{"k", 1ull << 10},
                                              {"m", 1ull << 20},
                                              {"g", 1ull << 30},
                                              {"t", 1ull << 40},
                                              {"p", 1ull << 50}}};
  if (suffix.empty() || suffix == "b") return 1;
  for (const auto& unit : units) {
    if (suffix == unit.letter || suffix == std::string(unit.letter) + "b" ||
        suffix == std::string(unit.letter) + "ib")
      return unit.bytes;
  }
  return std::nullopt;
}

struct DurationUnit {
  std::string_view name;
  std::int64_t ms;
};
// Largest first: a duration lists its parts in this order.
constexpr std::array<DurationUnit, 5> kDurationUnits{
    {{"d", 86'400'000}, {"h", 3'600'000}, {"m", 60'000}, {"s", 1'000}, {"ms", 1}}};

}  // namespace

std::uint64_t parse_size(std::string_view text) {
  std::string_view rest = trim(text);
  if (rest.empty()) bad_size(text, "is empty");
  if (rest.front() == '-') bad_size(text, "is negative");
  auto number = take_decimal(rest);
  if (!number) bad_size(text, "is not a number");
  auto unit = size_unit(lower(trim(rest)));
  if (!unit) bad_size(text, "has an unknown unit '" + std::string(trim(rest)) + "'");
  if (*unit == 1 && number->fraction != 0) bad_size(text, "is a fraction of a byte");
  auto bytes = scale(*number, *unit, std::numeric_limits<std::uint64_t>::max());
  if (!bytes) bad_size(text, "is too large");
  return *bytes;
}

Duration parse_duration(std::string_view text) {
  std::string_view rest = trim(text);
  if (rest.empty()) bad_duration(text, "is empty");
  if (rest.front() == '-') bad_duration(text, "is negative");
  constexpr auto kMax = static_cast<std::uint64_t>(std::numeric_limits<Duration::rep>::max());

  std::uint64_t total = 0;
  std::size_t next_unit = 0;  // index into kDurationUnits: units must go down
  bool first = true;
  while (!rest.empty()) {
    auto number = take_decimal(rest);
    if (!number) bad_duration(text, "is not a number with a unit");
    std::size_t unit_length = 0;
    while (unit_length < rest.size() && std::isalpha(static_cast<unsigned char>(rest[unit_length])))
      ++unit_length;
    std::string unit_name = lower(rest.substr(0, unit_length));
    rest.remove_prefix(unit_length);
    if (unit_name.empty()) {
      if (!first || !rest.empty()) bad_duration(text, "has a number without a unit");
      unit_name = "s";  // a bare number means seconds
    }
    std::size_t index = 0;
    while (index < kDurationUnits.size() && kDurationUnits[index].name != unit_name) ++index;
    if (index == kDurationUnits.size())
      bad_duration(text, "has an unknown unit '" + unit_name + "'");
    if (index < next_unit) bad_duration(text, "repeats a unit or lists units out of order");
    next_unit = index + 1;
    auto part = scale(*number, static_cast<std::uint64_t>(kDurationUnits[index].ms), kMax);
    if (!part || total > kMax - *part) bad_duration(text, "is too long");
    total += *part;
    first = false;
  }
  return Duration(static_cast<Duration::rep>(total));
}

std::string format_size(std::uint64_t bytes) {
  static constexpr std::array<std::pair<char, std::uint64_t>, 5> units{
      {{'p', 1ull << 50}, {'t', 1ull << 40}, {'g', 1ull << 30}, {'m', 1ull << 20}, {'k', 1ull << 10}}};
  for (const auto& [letter, unit] : units) {
    if (bytes < unit) continue;
    if (bytes % unit == 0) return std::to_string(bytes / unit) + letter;
    // A short decimal ("1.5g") when it is exact, so it parses back to the same bytes.
    for (unsigned digits = 1; digits <= 3; ++digits) {
      u128 denominator = pow10(digits);
      u128 numerator = static_cast<u128>(bytes) * denominator;
      if (numerator % unit != 0) continue;
      u128 scaled = numerator / unit;
      std::string fraction = std::to_string(static_cast<std::uint64_t>(scaled % denominator));
      fraction.insert(0, digits - fraction.size(), '0');
      return std::to_string(static_cast<std::uint64_t>(scaled / denominator)) + "." + fraction +
             letter;
    }
  }
  return std::to_string(bytes) + "b";
}

std::string format_duration(Duration d) {
  if (d.count() == 0) return "0s";
  std::string out;
  std::uint64_t rest;
  if (d.count() < 0) {
    out = "-";
    rest = static_cast<std::uint64_t>(-(d.count() + 1)) + 1;  // INT64_MIN has no positive twin
  } else {
    rest = static_cast<std::uint64_t>(d.count());
  }
  for (const auto& unit : kDurationUnits) {
    auto ms = static_cast<std::uint64_t>(unit.ms);
    if (rest >= ms) {
      out += std::to_string(rest / ms);
      out += unit.name;
      rest %= ms;
    }
  }
  return out;
}

}  // namespace hutch
