// Building Engine API request targets: percent-encoded query strings and the JSON "filters"
// parameter. Pure functions, unit-tested.
#pragma once

#include <hutch/percent_encoding.hpp>

#include <map>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace hutch::docker {

using hutch::percent_encode;

// A request target under construction: Target("/containers/x/archive").add("path", "/a b").str()
// gives "/containers/x/archive?path=%2Fa%20b". Parameters keep the order they were added in.
class Target {
 public:
  explicit Target(std::string path) : path_(std::move(path)) {}
  Target& add(std::string_view key, std::string_view value);
  // Without this, a string literal would convert to bool rather than to string_view.
  Target& add(std::string_view key, const char* value) { return add(key, std::string_view(value)); }
  Target& add(std::string_view key, const std::string& value) { return add(key, std::string_view(value)); }
  Target& add(std::string_view key, bool value) { return add(key, std::string_view(value ? "true" : "false")); }
  Target& add(std::string_view key, long long value) { return add(key, std::to_string(value)); }
  // Adds `path` segment (percent-encoded) to the path: Target("/containers").segment(id).
  // Errc::invalid_argument for an empty name.
  Target& segment(std::string_view name);
  std::string str() const;

 private:
  std::string path_;
  std::vector<std::pair<std::string, std::string>> query_;
};

// The Engine's filters parameter: {"label":["hutch.managed=true","k=v"],"dangling":["false"]}.
std::string filters_json(const std::map<std::string, std::vector<std::string>>& filters);

}  // namespace hutch::docker
