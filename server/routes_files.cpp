// /v1/sandboxes/{id}/files: file content streamed both ways (never a whole file in memory),
// and the directory verbs. Paths are the Fs's: absolute inside the sandbox.
#include "routes.hpp"

#include "object_reader.hpp"
#include "values_json.hpp"

#include <hutch/error.hpp>

#include <charconv>

namespace hutch::server {

namespace json = boost::json;

namespace {

bool bool_query(Context& context, const std::string& name) {
  auto value = context.request().query_value(name);
  if (!value || *value == "false" || *value == "0") return false;
  if (*value == "true" || *value == "1" || value->empty()) return true;
  throw Error(Errc::invalid_argument, "query parameter '" + name + "': expected true or false, got '" + *value + "'");
}

// Permission bits written in octal ("0644"), as chmod takes them.
std::uint32_t mode_query(Context& context, std::uint32_t fallback) {
  auto value = context.request().query_value("mode");
  if (!value) return fallback;
  std::uint32_t mode = 0;
  auto [end, ec] = std::from_chars(value->data(), value->data() + value->size(), mode, 8);
  if (value->empty() || ec != std::errc() || end != value->data() + value->size() || mode > 07777)
    throw Error(Errc::invalid_argument, "query parameter 'mode': expected octal permission bits like 0644, got '" + *value + "'");
  return mode;
}

}  // namespace

void read_file(Context& context) {
  const std::string path = required_query(context, "path");
  OwnedSandbox owned = sandbox_of(context);
  // The header goes out with the first chunk, so an error before it (no such file) is still
  // answered with its status.
  bool begun = false;
  owned.handle->fs().read_stream(path, [&](std::string_view chunk) {
    if (!begun) context.exchange.begin_stream(200, "application/octet-stream");
    begun = true;
    context.exchange.write_chunk(chunk);
    return true;
  });
  if (!begun) context.exchange.begin_stream(200, "application/octet-stream");
  context.exchange.end_stream();
}

void write_file(Context& context) {
  const std::string path = required_query(context, "path");
  const std::uint32_t mode = mode_query(context, 0644);
  OwnedSandbox owned = sandbox_of(context);
  owned.handle->fs().write_stream(path, [&] { return context.exchange.read_body_chunk(); }, mode);
  respond_json(context, 200, json_io::to_json(owned.handle->fs().stat(path)));
}

void remove_file(Context& context) {
  const std::string path = required_query(context, "path");
  const bool recursive = bool_query(context, "recursive");
  OwnedSandbox owned = sandbox_of(context);
  owned.handle->fs().remove(path, recursive);
  context.exchange.respond(204, "application/json", "");
}

void list_files(Context& context) {
  const std::string path = required_query(context, "path");
  OwnedSandbox owned = sandbox_of(context);
  json::array entries;
  for (const DirEntry& entry : owned.handle->fs().list(path)) entries.push_back(json_io::to_json(entry));
  respond_json(context, 200, entries);
}

void stat_file(Context& context) {
  const std::string path = required_query(context, "path");
  OwnedSandbox owned = sandbox_of(context);
  respond_json(context, 200, json_io::to_json(owned.handle->fs().stat(path)));
}

void make_directory(Context& context) {
  const json::object body = read_json_object(context);
  const json_io::ObjectReader fields(body, "", Errc::invalid_argument);
  const auto path = fields.string("path");
  if (!path) fields.fail("path", "required");
  const bool parents = fields.boolean("parents").value_or(false);
  const auto mode = static_cast<std::uint32_t>(fields.integer("mode", 0, 07777).value_or(0755));
  fields.reject_unknown();
  OwnedSandbox owned = sandbox_of(context);
  owned.handle->fs().mkdir(*path, parents, mode);
  respond_json(context, 201, json_io::to_json(owned.handle->fs().stat(*path)));
}

void move_file(Context& context) {
  const json::object body = read_json_object(context);
  const json_io::ObjectReader fields(body, "", Errc::invalid_argument);
  const auto from = fields.string("from");
  const auto to = fields.string("to");
  if (!from) fields.fail("from", "required");
  if (!to) fields.fail("to", "required");
  fields.reject_unknown();
  OwnedSandbox owned = sandbox_of(context);
  owned.handle->fs().rename(*from, *to);
  context.exchange.respond(204, "application/json", "");
}

void make_symlink(Context& context) {
  const json::object body = read_json_object(context);
  const json_io::ObjectReader fields(body, "", Errc::invalid_argument);
  const auto target = fields.string("target");
  const auto path = fields.string("path");
  if (!target) fields.fail("target", "required");
  if (!path) fields.fail("path", "required");
  fields.reject_unknown();
  OwnedSandbox owned = sandbox_of(context);
  owned.handle->fs().symlink(*target, *path);
  respond_json(context, 201, json_io::to_json(owned.handle->fs().stat(*path)));
}

}  // namespace hutch::server
