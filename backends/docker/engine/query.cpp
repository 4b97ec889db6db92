#include "engine/query.hpp"

#include <hutch/error.hpp>

#include <boost/json.hpp>

namespace hutch::docker {

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
