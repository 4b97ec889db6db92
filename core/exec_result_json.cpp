// ExecResult -> JSON (exec_result_json.hpp), shared by the CLI and the service.
#include <hutch/base64.hpp>
#include <hutch/exec_result_json.hpp>

#include <boost/json.hpp>

namespace hutch {

namespace {

namespace json = boost::json;

// Puts `bytes` under `field` with its encoding under `field`_encoding.
void put_stream(json::object& object, const char* field, const std::string& bytes) {
  const bool text = is_valid_utf8(bytes);
  object[field] = text ? bytes : base64_encode(bytes);
  object[std::string(field) + "_encoding"] = text ? "utf-8" : "base64";
}

}  // namespace

bool is_valid_utf8(std::string_view bytes) noexcept {
  std::size_t i = 0;
  while (i < bytes.size()) {
    const auto lead = static_cast<unsigned char>(bytes[i]);
    std::size_t length = 0;
    // The range of the second byte narrows for E0, ED, F0 and F4: that is what rules out
    // overlong forms, surrogates and code points above U+10FFFF.
    unsigned char low = 0x80, high = 0xBF;
    if (lead < 0x80) {
      ++i;
      continue;
    } else if (lead >= 0xC2 && lead <= 0xDF) {
      length = 2;
    } else if (lead >= 0xE0 && lead <= 0xEF) {
      length = 3;
      if (lead == 0xE0) low = 0xA0;
      if (lead == 0xED) high = 0x9F;
    } else if (lead >= 0xF0 && lead <= 0xF4) {
      length = 4;
      if (lead == 0xF0) low = 0x90;
      if (lead == 0xF4) high = 0x8F;
    } else {
      return false;
    }
    if (bytes.size() - i < length) return false;
    for (std::size_t k = 1; k < length; ++k) {
      const auto next = static_cast<unsigned char>(bytes[i + k]);
      if (next < (k == 1 ? low : 0x80) || next > (k == 1 ? high : 0xBF)) return false;
    }
    i += length;
  }
  return true;
}

std::string exec_result_to_json(const ExecResult& result) {
  json::object object;
  put_stream(object, "stdout", result.stdout_data);
  put_stream(object, "stderr", result.stderr_data);
  const bool exited = !result.timed_out && result.signal == 0;
  object["exit_code"] = exited ? json::value(result.exit_code) : json::value(nullptr);
  object["signal"] = result.signal != 0 ? json::value(result.signal) : json::value(nullptr);
  object["timed_out"] = result.timed_out;
  object["stdout_truncated"] = result.stdout_truncated;
  object["stderr_truncated"] = result.stderr_truncated;
  object["duration_ms"] = result.duration.count();
  return json::serialize(object);
}

}  // namespace hutch
