#include "context.hpp"

#include <algorithm>
#include <cctype>
#include <random>
#include <string_view>

namespace hutch::docker {

bool is_container_gone(const Error& error) {
  if (error.code() != Errc::not_found) return false;
  // dockerd says "No such container: ID"; Podman says "no container with name or ID "ID"
  // found: no such container".
  std::string message = error.what();
  std::transform(message.begin(), message.end(), message.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return message.find("no such container") != std::string::npos;
}

std::string random_hex(std::size_t length) {
  static thread_local std::mt19937_64 engine{std::random_device{}()};
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out(length, '0');
  for (auto& c : out) c = kHex[engine() & 15];
  return out;
}

}  // namespace hutch::docker
