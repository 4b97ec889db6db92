#include "engine/query.hpp"

#include <hutch/error.hpp>

#include <boost/json.hpp>

namespace hutch::docker {

std::string percent_encode(std::string_view text) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(text.size());
  for (unsigned char c : text) {
    bool unreserved = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
                      c == '-' || c == '.' || c == '_' || c == '~';
    if (unreserved) {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += kHex[c >> 4];
      out += kHex[c & 0x0f];
    }
  }
  return out;
}

Target& Target::add(std::string_view key, std::string_view value) {
  query_.emplace_back(std::string(key), std::string(value));
  return *this;
}

Target& Target::segment(std::string_view name) {
  // An empty name would make "/containers//json", which the daemon answers as another route.
  if (name.empty()) throw Error(Errc::invalid_argument, "empty name in the engine path " + path_ + "/<name>");
  if (path_.empty() || path_.back() != '/') path_ += '/';
  path_ += percent_encode(name);
  return *this;
}

std::string Target::str() const {
  std::string out = path_;
  char separator = '?';
  for (const auto& [key, value] : query_) {
    out += separator;
    out += percent_encode(key);
    out += '=';
    out += percent_encode(value);
    separator = '&';
  }
  return out;
}

std::string filters_json(const std::map<std::string, std::vector<std::string>>& filters) {
  boost::json::object object;
  for (const auto& [name, values] : filters) {
    boost::json::array array;
    for (const auto& value : values) array.emplace_back(value);
    object[name] = std::move(array);
  }
  return boost::json::serialize(object);
}

}  // namespace hutch::docker
