// RFC 3986 percent-encoding, for URLs built by hutch: Engine API targets (docker backend),
// registry token requests (core/registry).
#pragma once

#include <hutch/export.hpp>

#include <string>
#include <string_view>

namespace hutch {

// Every byte but the unreserved characters (A-Z a-z 0-9 - . _ ~) becomes %XX.
HUTCH_API std::string percent_encode(std::string_view text);

}  // namespace hutch
