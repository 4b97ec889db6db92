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
  if (request.timeout) object["timeout_ms"] = request.timeout->count();
  object["output_limit_bytes"] = request.output_limit;
  return object;
}

}  // namespace hutch::json_io
