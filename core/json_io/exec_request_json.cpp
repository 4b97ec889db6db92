#include "exec_request_json.hpp"

#include "object_reader.hpp"

#include <hutch/base64.hpp>
#include <hutch/exec_result_json.hpp>

namespace hutch::json_io {

namespace json = boost::json;

ExecRequest exec_request_from_json(const json::value& document) {
  const auto object = ObjectReader::of(document, "", Errc::invalid_argument);
  ExecRequest request;
  request.argv = object.string_array("argv").value_or(std::vector<std::string>{});
  if (request.argv.empty()) object.fail("argv", "expected a non-empty array of strings (the command and its arguments)");
  request.env = object.string_map("env").value_or(Env{});
  request.cwd = object.string("cwd").value_or("");
  request.user = object.string("user").value_or("");
  const std::string encoding = object.string("stdin_encoding").value_or("utf-8");
  if (encoding != "utf-8" && encoding != "base64") object.fail("stdin_encoding", "expected \"utf-8\" or \"base64\"");
  if (auto stdin_text = object.string("stdin")) {
    try {
      request.stdin_data = encoding == "base64" ? base64_decode(*stdin_text) : *stdin_text;
    } catch (const Error& error) {
      object.fail("stdin", error.what());
    }
  }
  request.tty = object.boolean("tty").value_or(false);
  request.tty_cols = static_cast<std::uint16_t>(object.integer("tty_cols", 0, 65535).value_or(0));
  request.tty_rows = static_cast<std::uint16_t>(object.integer("tty_rows", 0, 65535).value_or(0));
  request.use_entrypoint = object.boolean("use_entrypoint").value_or(false);
  if (auto ms = object.integer("timeout_ms", 1)) request.timeout = Duration(*ms);
  if (auto limit = object.unsigned_integer("output_limit_bytes")) request.output_limit = *limit;
  object.reject_unknown();
  return request;
}

json::object to_json(const ExecRequest& request) {
  json::object object;
  json::array argv;
  for (const auto& arg : request.argv) argv.emplace_back(arg);
  object["argv"] = std::move(argv);
  json::object env;
  for (const auto& [key, value] : request.env) env[key] = value;
  object["env"] = std::move(env);
  object["cwd"] = request.cwd;
  object["user"] = request.user;
  if (request.stdin_data) {
    const bool text = is_valid_utf8(*request.stdin_data);
    object["stdin"] = text ? *request.stdin_data : base64_encode(*request.stdin_data);
    object["stdin_encoding"] = text ? "utf-8" : "base64";
  }
  object["tty"] = request.tty;
  if (request.tty_cols != 0) object["tty_cols"] = request.tty_cols;
  if (request.tty_rows != 0) object["tty_rows"] = request.tty_rows;
  if (request.use_entrypoint) object["use_entrypoint"] = true;
  if (request.timeout) object["timeout_ms"] = request.timeout->count();
  object["output_limit_bytes"] = request.output_limit;
  return object;
}

ExecResult exec_result_from_json(const json::value& document) {
  const auto object = ObjectReader::of(document, "", Errc::backend);
  ExecResult result;
  auto stream = [&](const char* data_key, const char* encoding_key) {
    std::string data = object.string(data_key).value_or("");
    if (object.string(encoding_key).value_or("utf-8") == "base64") return base64_decode(data);
    return data;
  };
  result.stdout_data = stream("stdout", "stdout_encoding");
  result.stderr_data = stream("stderr", "stderr_encoding");
  result.exit_code = static_cast<int>(object.integer("exit_code").value_or(-1));
  result.signal = static_cast<int>(object.integer("signal", 0, 255).value_or(0));
  result.timed_out = object.boolean("timed_out").value_or(false);
  result.stdout_truncated = object.boolean("stdout_truncated").value_or(false);
  result.stderr_truncated = object.boolean("stderr_truncated").value_or(false);
  result.duration = Duration(object.integer("duration_ms", 0).value_or(0));
  return result;
}

}  // namespace hutch::json_io
