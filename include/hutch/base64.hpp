// Base64 (RFC 4648): the standard alphabet, or the URL-safe one ('-' and '_'), padded with '='.
// Used where bytes travel in text: JSON results whose output is not UTF-8, the Docker Engine's
// headers.
#pragma once

#include <hutch/export.hpp>

#include <string>
#include <string_view>

namespace hutch {

HUTCH_API std::string base64_encode(std::string_view data, bool url_safe = false);
// Accepts both alphabets, with or without padding; throws Errc::invalid_argument naming the
// first character that belongs to neither.
HUTCH_API std::string base64_decode(std::string_view text);

}  // namespace hutch
