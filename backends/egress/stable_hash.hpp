// A hash of text that is the same in every process and build (unlike std::hash), for names
// of kernel objects that several hutch processes must agree on.
#pragma once

#include <cstdint>
#include <string_view>

namespace hutch::egress {

// FNV-1a, 32 bits.
inline std::uint32_t stable_hash(std::string_view text) {
  std::uint32_t hash = 2166136261u;
  for (unsigned char c : text) {
    hash ^= c;
    hash *= 16777619u;
  }
  return hash;
}

}  // namespace hutch::egress
