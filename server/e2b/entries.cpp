#include "entries.hpp"

#include "context.hpp"

#include <hutch/error.hpp>
#include <hutch/log.hpp>

#include <spdlog/spdlog.h>

#include <ctime>

namespace hutch::server::e2b {

namespace json = boost::json;

namespace {

const char* file_type(FileType type) {
  switch (type) {
    case FileType::regular: return "FILE_TYPE_FILE";
    case FileType::directory: return "FILE_TYPE_DIRECTORY";
    case FileType::symlink: return "FILE_TYPE_SYMLINK";
    case FileType::other: break;
  }
  return "FILE_TYPE_UNSPECIFIED";
}

std::string permissions(const FileStat& stat) {
  std::string text = stat.type == FileType::directory ? "d" : stat.type == FileType::symlink ? "l" : "-";
  const char* letters = "rwxrwxrwx";
  for (int bit = 0; bit < 9; ++bit) text += (stat.mode & (0400u >> bit)) ? letters[bit] : '-';
  return text;
}

// The names envd's templates give the ids; others as numbers.
std::string owner_name(std::uint32_t id) {
  if (id == 0) return "root";
  if (id == 1000) return kDefaultUser;
  return std::to_string(id);
}

std::string rfc3339(std::chrono::system_clock::time_point time) {
  const auto since = time.time_since_epoch();
  const std::time_t seconds = std::chrono::duration_cast<std::chrono::seconds>(since).count();
  const auto nanos = std::chrono::duration_cast<std::chrono::nanoseconds>(since).count() % 1000000000;
  std::tm utc{};
  ::gmtime_r(&seconds, &utc);
  char text[48];
  const std::size_t used = std::strftime(text, sizeof text, "%Y-%m-%dT%H:%M:%S", &utc);
  std::snprintf(text + used, sizeof text - used, ".%09lldZ", static_cast<long long>(nanos < 0 ? 0 : nanos));
  return text;
}

}  // namespace

std::string resolve_path(const std::string& path, const std::string& user) {
  if (path.empty()) throw Error(Errc::invalid_argument, "field 'path': required");
  if (path.front() == '/') return path;
  std::string home = user == "root" ? "/root" : user == kDefaultUser ? "/home/user" : "/";
  if (path == "~") return home;
  if (path.rfind("~/", 0) == 0) return home + path.substr(1);
  return home + (home.back() == '/' ? "" : "/") + path;
}

void give_to_user(Handle& handle, const std::vector<std::string>& paths, const std::string& user) {
  if (paths.empty() || user == "root" || user == "0") return;
  ExecRequest request;
  request.user = "0";
  request.argv = {"chown", user + ":"};
  request.argv.insert(request.argv.end(), paths.begin(), paths.end());
  request.timeout = Duration(30000);
  // Best effort: a sandbox without CAP_CHOWN (the docker backend drops it) keeps root's files,
  // which the user can still read.
  const ExecResult result = handle.exec(request);
  if (result.shell_status() != 0)
    logger()->info("sandbox {}: cannot give {} to user '{}': {}", handle.id(), paths.front(), user, result.stderr_data);
}

void make_owned_directories(Handle& handle, const std::string& path, const std::string& user) {
  // As the user first (so they are the user's where the sandbox cannot chown), then as root
  // where the user may not (a parent only root can write to), given to the user after.
  ExecRequest request;
  request.user = user;
  request.argv = {"mkdir", "-p", "--", path};
  request.timeout = Duration(30000);
  if (handle.exec(request).shell_status() == 0) return;
  Fs& fs = handle.fs();
  std::vector<std::string> created;
  std::string at;
  for (const std::string& component : path_components(path)) {
    at += "/" + component;
    if (!fs.exists(at)) created.push_back(at);
  }
  if (created.empty()) return;
  fs.mkdir(path, /*parents=*/true);
  give_to_user(handle, created, user);
}

std::string base_name(const std::string& path) {
  const auto components = path_components(path);
  return components.empty() ? "/" : components.back();
}

json::object entry_info(const std::string& path, const FileStat& stat) {
  json::object entry;
  entry["name"] = base_name(path);
  entry["type"] = file_type(stat.type);
  entry["path"] = path;
  entry["size"] = std::to_string(stat.size);
  entry["mode"] = stat.mode & 0777u;  // the permission bits, as envd reports them
  entry["permissions"] = permissions(stat);
  entry["owner"] = owner_name(stat.uid);
  entry["group"] = owner_name(stat.gid);
  entry["modifiedTime"] = rfc3339(stat.mtime);
  if (stat.type == FileType::symlink) entry["symlinkTarget"] = stat.link_target;
  return entry;
}

}  // namespace hutch::server::e2b
