// envd's HTTP routes (packages/envd/spec/envd.yaml): /health, and /files to download a file
// (GET) or upload files (POST, as application/octet-stream or multipart/form-data), each with
// `path` and `username`. Content is streamed to and from the sandbox's Fs, except a multipart
// body, which is read whole (up to kMultipartLimit) to find its parts.
#include "context.hpp"
#include "entries.hpp"
#include "file_urls.hpp"

#include <hutch/error.hpp>
#include <hutch/handle.hpp>

namespace hutch::server::e2b {

namespace json = boost::json;

namespace {

constexpr std::uint64_t kMultipartLimit = 256u << 20;

std::string user_of(Context& context) {
  if (auto username = context.request().query_value("username"); username && !username->empty()) return *username;
  return E2b::envd_user(context);
}

void health(E2b& e2b, Context& context) {
  // 502 for a sandbox that is gone, as E2B's proxy answers: the SDK takes it for "not running".
  try {
    OwnedSandbox owned = e2b.envd_sandbox(context);
    if (owned.handle->info().state != SandboxState::running) throw Error(Errc::not_found, "not running");
  } catch (const Error& error) {
    if (error.code() != Errc::not_found) throw;
    context.exchange.respond(502, "application/json",
                             json::serialize(json::object{{"code", 502}, {"message", "the sandbox is not running"}}));
    return;
  }
  context.exchange.respond(204, "application/json", "");
}

void download(E2b& e2b, Context& context) {
  OwnedSandbox owned = file_request_sandbox(e2b, context, "read");
  const auto path_query = context.request().query_value("path");
  if (!path_query) throw Error(Errc::invalid_argument, "query parameter 'path' is required");
  const std::string path = resolve_path(*path_query, user_of(context));
  Fs& fs = owned.handle->fs();
  const FileStat stat = fs.stat(path);
  if (stat.type == FileType::directory) throw Error(Errc::invalid_argument, "path '" + path + "' is a directory");
  // The header goes out with the first chunk, so an error before it is still answered with
  // its status.
  bool begun = false;
  fs.read_stream(path, [&](std::string_view chunk) {
    if (!begun) context.exchange.begin_stream(200, "application/octet-stream");
    begun = true;
    context.exchange.write_chunk(chunk);
    return true;
  });
  if (!begun) {
    context.exchange.respond(200, "application/octet-stream", "");  // Content-Length: 0, as the SDK checks
    return;
  }
  context.exchange.end_stream();
}

json::object written(const std::string& path) {
  return json::object{{"path", path}, {"name", base_name(path)}, {"type", "file"}};
}

// The file's missing parents, made as the user; `fresh` says whether the file is new (and then
// given to the user once written).
bool make_parent(Handle& handle, const std::string& path, const std::string& user) {
  const auto slash = path.find_last_of('/');
  if (slash != std::string::npos && slash > 0 && !handle.fs().exists(path.substr(0, slash)))
    make_owned_directories(handle, path.substr(0, slash), user);
  return !handle.fs().exists(path);
}

// The parts of a multipart/form-data body: (file name, content) of each part with a file.
std::vector<std::pair<std::string, std::string>> multipart_files(const std::string& body, const std::string& content_type) {
  const auto at = content_type.find("boundary=");
  if (at == std::string::npos) throw Error(Errc::invalid_argument, "Content-Type multipart/form-data without a boundary");
  std::string boundary = content_type.substr(at + 9);
  boundary = boundary.substr(0, boundary.find(';'));
  if (boundary.size() >= 2 && boundary.front() == '"') boundary = boundary.substr(1, boundary.size() - 2);
  const std::string delimiter = "--" + boundary;
  std::vector<std::pair<std::string, std::string>> files;
  std::size_t position = body.find(delimiter);
  while (position != std::string::npos) {
    position += delimiter.size();
    if (body.compare(position, 2, "--") == 0) break;  // the closing delimiter
    const std::size_t headers_end = body.find("\r\n\r\n", position);
    if (headers_end == std::string::npos) throw Error(Errc::invalid_argument, "a multipart part has no end of headers");
    const std::string headers = body.substr(position, headers_end - position);
    const std::size_t content_start = headers_end + 4;
    const std::size_t next = body.find("\r\n" + delimiter, content_start);
    if (next == std::string::npos) throw Error(Errc::invalid_argument, "a multipart part has no closing delimiter");
    std::string filename;
    if (auto name = headers.find("filename=\""); name != std::string::npos) {
      const auto end = headers.find('"', name + 10);
      filename = headers.substr(name + 10, end - name - 10);
    }
    files.emplace_back(std::move(filename), body.substr(content_start, next - content_start));
    position = next + 2;
  }
  if (files.empty()) throw Error(Errc::invalid_argument, "the multipart body has no file part");
  return files;
}

void upload(E2b& e2b, Context& context) {
  OwnedSandbox owned = file_request_sandbox(e2b, context, "write");
  const std::string user = user_of(context);
  const auto path_query = context.request().query_value("path");
  const std::string content_type = context.request().header("content-type").value_or("");
  Fs& fs = owned.handle->fs();
  if (context.request().header("content-encoding").value_or("identity") != "identity")
    throw Error(Errc::unsupported, "compressed uploads (Content-Encoding) are not accepted");
  json::array files;
  if (content_type.rfind("multipart/form-data", 0) == 0) {
    const std::string body = context.exchange.read_body(kMultipartLimit);
    for (auto& [filename, content] : multipart_files(body, content_type)) {
      const std::string name = path_query ? *path_query : filename;
      if (name.empty()) throw Error(Errc::invalid_argument, "a file part without a path: give ?path= or a file name");
      const std::string path = resolve_path(name, user);
      const bool fresh = make_parent(*owned.handle, path, user);
      fs.write(path, content);
      if (fresh) give_to_user(*owned.handle, {path}, user);
      files.push_back(written(path));
    }
  } else {
    if (!path_query) throw Error(Errc::invalid_argument, "query parameter 'path' is required for an octet-stream upload");
    const std::string path = resolve_path(*path_query, user);
    const bool fresh = make_parent(*owned.handle, path, user);
    fs.write_stream(path, [&] { return context.exchange.read_body_chunk(); });
    if (fresh) give_to_user(*owned.handle, {path}, user);
    files.push_back(written(path));
  }
  context.exchange.respond(200, "application/json", json::serialize(files));
}

}  // namespace

void add_envd_http_routes(Router& router, const std::shared_ptr<E2b>& e2b) {
  router.add("GET", "/e2b/envd/health", rest_handler(e2b, health), true);
  router.add("GET", "/e2b/envd/files", rest_handler(e2b, download), true);
  router.add("POST", "/e2b/envd/files", rest_handler(e2b, upload), true);
  // The SDK's uploadUrl/downloadUrl resolve "/files" against E2B_SANDBOX_URL, which drops its
  // path: those URLs arrive at the root (file_urls.hpp).
  router.add("GET", "/files", rest_handler(e2b, download), true);
  router.add("POST", "/files", rest_handler(e2b, upload), true);
}

}  // namespace hutch::server::e2b
