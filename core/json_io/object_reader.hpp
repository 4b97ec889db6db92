// ObjectReader: reads a JSON object field by field, so that every mistake in a document that
// came from outside (an API request body, a stored spec) is one Error naming the field's path:
//   field 'mounts[0].target': expected a string, got a number
// Header-only on purpose: libhutch (spec_json.cpp) and the modules that link hutch_json_io each
// compile it against their own hidden copy of Boost.JSON (see cmake/HutchHeaderOnlyDeps.cmake),
// so no JSON value crosses a module boundary.
#pragma once

#include <hutch/error.hpp>

#include <boost/json.hpp>

#include <cstdint>
#include <limits>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

namespace hutch::json_io {

// "a string", "a number", ... for messages.
inline const char* kind_name(const boost::json::value& value) {
  switch (value.kind()) {
    case boost::json::kind::null: return "null";
    case boost::json::kind::bool_: return "a boolean";
    case boost::json::kind::int64:
    case boost::json::kind::uint64:
    case boost::json::kind::double_: return "a number";
    case boost::json::kind::string: return "a string";
    case boost::json::kind::array: return "an array";
    case boost::json::kind::object: return "an object";
  }
  return "a value";
}

class ObjectReader {
 public:
  // `path` names the object itself ("" for a document's root, "mounts[0]"); errors carry `code`.
  ObjectReader(const boost::json::object& object, std::string path, Errc code)
      : object_(&object), path_(std::move(path)), code_(code) {}

  // `value` as an object, or the error "field '<path>': expected an object".
  static ObjectReader of(const boost::json::value& value, const std::string& path, Errc code) {
    if (!value.is_object()) fail_at(path, std::string("expected an object, got ") + kind_name(value), code);
    return ObjectReader(value.as_object(), path, code);
  }

  // The dotted path of `key` in this object.
  std::string field(const std::string& key) const { return path_.empty() ? key : path_ + "." + key; }

  // The raw value of `key` (null counts as absent), marked as known.
  const boost::json::value* find(const std::string& key) const {
    known_.insert(key);
    const boost::json::value* value = object_->if_contains(key);
    return value == nullptr || value->is_null() ? nullptr : value;
  }

  std::optional<std::string> string(const std::string& key) const {
    const auto* value = find(key);
    if (value == nullptr) return std::nullopt;
    if (!value->is_string()) expected(key, "a string", *value);
    return std::string(value->as_string());
  }

  std::optional<bool> boolean(const std::string& key) const {
    const auto* value = find(key);
    if (value == nullptr) return std::nullopt;
    if (!value->is_bool()) expected(key, "a boolean", *value);
    return value->as_bool();
  }

  // An integer from `min` to `max`.
  std::optional<std::int64_t> integer(const std::string& key, std::int64_t min = std::numeric_limits<std::int64_t>::min(),
                                      std::int64_t max = std::numeric_limits<std::int64_t>::max()) const {
    const auto* value = find(key);
    if (value == nullptr) return std::nullopt;
    return integer_value(*value, field(key), min, max, code_);
  }

  // An unsigned integer up to 2^64-1 (sizes in bytes).
  std::optional<std::uint64_t> unsigned_integer(const std::string& key) const {
    const auto* value = find(key);
    if (value == nullptr) return std::nullopt;
    if (value->is_uint64()) return value->as_uint64();
    return static_cast<std::uint64_t>(integer_value(*value, field(key), 0, std::numeric_limits<std::int64_t>::max(), code_));
  }

  std::optional<double> number(const std::string& key) const {
    const auto* value = find(key);
    if (value == nullptr) return std::nullopt;
    if (!value->is_number()) expected(key, "a number", *value);
    return value->to_number<double>();
  }

  std::optional<std::vector<std::string>> string_array(const std::string& key) const {
    const auto* value = find(key);
    if (value == nullptr) return std::nullopt;
    if (!value->is_array()) expected(key, "an array of strings", *value);
    std::vector<std::string> out;
    std::size_t index = 0;
    for (const auto& item : value->as_array()) {
      if (!item.is_string())
        fail_at(field(key) + "[" + std::to_string(index) + "]", std::string("expected a string, got ") + kind_name(item), code_);
      out.emplace_back(item.as_string());
      ++index;
    }
    return out;
  }

  // An object whose values are all strings (env, labels).
  std::optional<std::map<std::string, std::string>> string_map(const std::string& key) const {
    const auto* value = find(key);
    if (value == nullptr) return std::nullopt;
    if (!value->is_object()) expected(key, "an object of strings", *value);
    std::map<std::string, std::string> out;
    for (const auto& [name, item] : value->as_object()) {
      if (!item.is_string())
        fail_at(field(key) + "." + std::string(name), std::string("expected a string, got ") + kind_name(item), code_);
      out[std::string(name)] = std::string(item.as_string());
    }
    return out;
  }

  const boost::json::array* array(const std::string& key) const {
    const auto* value = find(key);
    if (value == nullptr) return nullptr;
    if (!value->is_array()) expected(key, "an array", *value);
    return &value->as_array();
  }

  std::optional<ObjectReader> object(const std::string& key) const {
    const auto* value = find(key);
    if (value == nullptr) return std::nullopt;
    return of(*value, field(key), code_);
  }

  // Errors for the first key no getter asked for (a misspelt field is not silently ignored).
  void reject_unknown() const {
    for (const auto& [key, value] : *object_)
      if (!known_.count(std::string(key))) fail(std::string(key), "unknown field");
  }

  [[noreturn]] void fail(const std::string& key, const std::string& message) const { fail_at(field(key), message, code_); }
  [[noreturn]] void expected(const std::string& key, const std::string& what, const boost::json::value& got) const {
    fail(key, "expected " + what + ", got " + kind_name(got));
  }
  [[noreturn]] static void fail_at(const std::string& path, const std::string& message, Errc code) {
    throw Error(code, "field '" + path + "': " + message);
  }

  static std::int64_t integer_value(const boost::json::value& value, const std::string& path, std::int64_t min,
                                    std::int64_t max, Errc code) {
    std::int64_t number = 0;
    if (value.is_int64()) {
      number = value.as_int64();
    } else if (value.is_uint64() && value.as_uint64() <= std::uint64_t(std::numeric_limits<std::int64_t>::max())) {
      number = static_cast<std::int64_t>(value.as_uint64());
    } else if (value.is_double() && value.as_double() == static_cast<double>(static_cast<std::int64_t>(value.as_double()))) {
      number = static_cast<std::int64_t>(value.as_double());
    } else {
      fail_at(path, std::string("expected an integer, got ") + (value.is_number() ? "a number out of range or with a fraction" : kind_name(value)), code);
    }
    if (number < min || number > max)
      fail_at(path, "expected an integer from " + std::to_string(min) + " to " + std::to_string(max) + ", got " +
                        std::to_string(number), code);
    return number;
  }

  const std::string& path() const { return path_; }
  Errc code() const { return code_; }

 private:
  const boost::json::object* object_;
  std::string path_;
  Errc code_;
  mutable std::set<std::string> known_;
};

}  // namespace hutch::json_io
