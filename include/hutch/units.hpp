// Sizes and durations as people write them, parsed in exactly one place.
//   sizes:     "512", "512b", "64k", "512m", "1g", "1.5g", "2t" (binary multiples: k = 1024)
//   durations: "250ms", "30s", "10m", "2h", "1d", "1h30m", a bare number means seconds
// Bad text throws Error(Errc::invalid_argument) quoting the text and the accepted forms.
#pragma once

#include <hutch/export.hpp>
#include <hutch/types.hpp>

#include <cstdint>
#include <string>
#include <string_view>

namespace hutch {

HUTCH_API std::uint64_t parse_size(std::string_view text);
HUTCH_API Duration parse_duration(std::string_view text);

// Inverse forms for display: "512m", "1.5g", "30s", "1h30m".
HUTCH_API std::string format_size(std::uint64_t bytes);
HUTCH_API std::string format_duration(Duration d);

}  // namespace hutch
