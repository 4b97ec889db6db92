#include "context.hpp"

#include <random>
#include <string_view>

namespace hutch::docker {

bool is_container_gone(const Error& error) {
  return error.code() == Errc::not_found &&
         std::string_view(error.what()).find("No such container") != std::string_view::npos;
}

std::string random_hex(std::size_t length) {
  static thread_local std::mt19937_64 engine{std::random_device{}()};
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out(length, '0');
  for (auto& c : out) c = kHex[engine() & 15];
  return out;
}

}  // namespace hutch::docker
