#include "docker_fs.hpp"

#include "base64.hpp"
#include "engine_quirks.hpp"
#include "engine/query.hpp"

#include <hutch/archive.hpp>
#include <hutch/error.hpp>
#include <hutch/path_policy.hpp>
#include <hutch/sandbox_files.hpp>

#include <boost/json.hpp>

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <optional>
#include <tuple>

namespace hutch::docker {
namespace json = boost::json;
namespace {

// Go's os.FileMode bits, as the daemon reports them.
constexpr std::uint32_t kGoModeDir = 1u << 31;
constexpr std::uint32_t kGoModeSymlink = 1u << 27;
constexpr std::uint32_t kGoModeSetuid = 1u << 23;
constexpr std::uint32_t kGoModeSetgid = 1u << 22;
constexpr std::uint32_t kGoModeSticky = 1u << 20;
constexpr std::uint32_t kGoModeIrregularTypes = (1u << 26) | (1u << 25) | (1u << 24) | (1u << 21) | (1u << 19);

std::string parent_of(const std::string& path) {
  auto slash = path.rfind('/');
  return slash == 0 ? "/" : path.substr(0, slash);
}

std::string name_of(const std::string& path) { return path.substr(path.rfind('/') + 1); }

std::chrono::system_clock::time_point parse_rfc3339(const std::string& text) {
  std::tm tm{};
  if (::strptime(text.c_str(), "%Y-%m-%dT%H:%M:%S", &tm) == nullptr) return {};
  auto seconds = ::timegm(&tm);
  auto time = std::chrono::system_clock::from_time_t(seconds);
  // A zone offset such as "+02:00" follows the (optional) fraction.
  auto zone = text.find_first_of("+-", 19);
  if (zone != std::string::npos && zone + 5 < text.size() + 1) {
    int hours = std::atoi(text.substr(zone + 1, 2).c_str());
    int minutes = std::atoi(text.substr(zone + 4, 2).c_str());
    auto offset = std::chrono::hours(hours) + std::chrono::minutes(minutes);
    time += text[zone] == '+' ? -offset : offset;
  }
  return time;
}

// Owns an unnamed temporary file.
class TempFile {
 public:
  TempFile() {
    auto dir = std::filesystem::temp_directory_path().string();
    fd_ = ::open(dir.c_str(), O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
    if (fd_ < 0) throw_system_error("create a staging file in " + dir, errno);
  }
  ~TempFile() { ::close(fd_); }
  TempFile(const TempFile&) = delete;
  TempFile& operator=(const TempFile&) = delete;
  int fd() const { return fd_; }

 private:
  int fd_ = -1;
};

}  // namespace

std::string checked_sandbox_path(const std::string& path) {
  std::string normal = normalize_sandbox_path(path);
  std::string_view rest = normal;
  while (!rest.empty()) {
    rest.remove_prefix(1);
    auto next = rest.find('/');
    if (rest.substr(0, next) == "..")
      throw Error(Errc::permission_denied,
                  "path '" + path + "' is refused: '..' could leave the sandbox root; use an absolute path without '..'");
    if (next == std::string_view::npos) break;
    rest.remove_prefix(next);
  }
  return normal;
}

FileStat parse_path_stat(const std::string& header_value) {
  auto value = json::parse(base64_decode(header_value));
  const auto& object = value.as_object();
  FileStat stat;
  auto mode = static_cast<std::uint32_t>(object.at("mode").to_number<std::int64_t>());
  if (mode & kGoModeDir)
    stat.type = FileType::directory;
  else if (mode & kGoModeSymlink)
    stat.type = FileType::symlink;
  else if (mode & kGoModeIrregularTypes)
    stat.type = FileType::other;
  else
    stat.type = FileType::regular;
  stat.mode = (mode & 0777) | ((mode & kGoModeSetuid) ? 04000 : 0) | ((mode & kGoModeSetgid) ? 02000 : 0) |
              ((mode & kGoModeSticky) ? 01000 : 0);
  stat.size = static_cast<std::uint64_t>(object.at("size").to_number<std::int64_t>());
  if (auto* mtime = object.if_contains("mtime"); mtime && mtime->is_string())
    stat.mtime = parse_rfc3339(std::string(mtime->as_string()));
  if (auto* target = object.if_contains("linkTarget"); target && target->is_string())
    stat.link_target = std::string(target->as_string());
  return stat;
}

std::pair<std::uint32_t, std::uint32_t> numeric_owner(const std::string& user) {
  auto parse = [](std::string_view text) -> std::optional<std::uint32_t> {
    if (text.empty() || text.size() > 9) return std::nullopt;
    std::uint32_t value = 0;
    for (char c : text) {
      if (c < '0' || c > '9') return std::nullopt;
      value = value * 10 + static_cast<std::uint32_t>(c - '0');
    }
    return value;
  };
  auto colon = user.find(':');
  auto uid = parse(std::string_view(user).substr(0, colon));
  if (!uid) return {0, 0};
  if (colon == std::string::npos) return {*uid, *uid};
  auto gid = parse(std::string_view(user).substr(colon + 1));
  return gid ? std::make_pair(*uid, *gid) : std::make_pair(0u, 0u);
}

DockerFs::DockerFs(std::shared_ptr<Context> context, std::string container, std::function<void()> check_alive,
                   const std::string& user, ToolRunner run_as_root)
    : context_(std::move(context)), container_(std::move(container)), check_alive_(std::move(check_alive)),
      run_as_root_(std::move(run_as_root)) {
  std::tie(owner_uid_, owner_gid_) = numeric_owner(user);
}

std::string DockerFs::archive_name(const std::string& path) const { return "sandbox " + container_ + ":" + path; }

std::string DockerFs::archive_target(const std::string& path) const {
  return Target("/containers").segment(container_).str() + "/archive?path=" + percent_encode(path);
}

FileStat DockerFs::stat(const std::string& raw_path) {
  check_alive_();
  std::string path = checked_sandbox_path(raw_path);
  Request request;
  request.method = Method::head;
  request.target = archive_target(path);
  request.what = "stat '" + path + "' in sandbox " + container_;
  const bool resolves_links = archive_resolves_links(context_->client->engine());
  if (resolves_links) request.returned_statuses = {404};  // a dangling link: see engine_quirks.hpp
  auto response = while_sandbox_exists(container_, [&] { return context_->client->call(request); });
  auto header = response.header("X-Docker-Container-Path-Stat");
  if (response.status == 404) {
    if (!header || parse_path_stat(*header).type != FileType::symlink)
      throw Error(Errc::not_found, request.what + ": no such file or directory");
  }
  if (!header) throw Error(Errc::backend, request.what + ": the daemon sent no X-Docker-Container-Path-Stat header");
  FileStat stat = parse_path_stat(*header);
  if (stat.type == FileType::symlink && resolves_links) {
    // The engine sends the link's target, not the link: ask the sandbox.
    auto result = run_as_root_({"readlink", "--", path});
    if (result.shell_status() != 0)
      throw Error(Errc::io, request.what + ": readlink in the sandbox failed: " + result.stderr_data);
    stat.link_target = result.stdout_data;
    if (!stat.link_target.empty() && stat.link_target.back() == '\n') stat.link_target.pop_back();
    stat.size = stat.link_target.size();
  } else if (stat.type == FileType::symlink) {
    // The header's linkTarget is the daemon's resolution of the link; the target as stored
    // is in the link's tar header.
    Request get;
    get.target = archive_target(path);
    get.what = request.what;
    auto reader = while_sandbox_exists(container_, [&] { return context_->client->open_reader(get); });
    auto tar = ArchiveReader::from_stream([&] { return reader->next(); }, archive_name(path));
    if (tar.next() != nullptr && tar.entry_type() == FileType::symlink) stat = tar.entry_stat();
    stat.size = stat.link_target.size();  // as lstat(2) reports for a symlink
  }
  return stat;
}

void DockerFs::read_stream(const std::string& raw_path, const ChunkSink& sink) {
  std::string path = checked_sandbox_path(raw_path);
  // Follow symlinks ourselves so read() reads what a program would read.
  for (int hops = 0;; ++hops) {
    FileStat info = stat(path);
    if (info.type == FileType::symlink) {
      if (hops >= 40) throw Error(Errc::io, "read '" + raw_path + "' in sandbox " + container_ + ": too many symlinks");
      std::string target = info.link_target;
      if (target.empty() || target.front() != '/') target = parent_of(path) + "/" + target;
      // ".." inside a link is resolved against the sandbox root, never beyond it.
      path = lexically_normal_absolute(normalize_sandbox_path(target));
      continue;
    }
    if (info.type == FileType::directory)
      throw Error(Errc::invalid_argument, "read '" + raw_path + "' in sandbox " + container_ + ": it is a directory");
    if (info.type != FileType::regular)
      throw Error(Errc::invalid_argument, "read '" + raw_path + "' in sandbox " + container_ +
                                              ": not a regular file (a FIFO, device or socket)");
    break;
  }
  Request request;
  request.target = archive_target(path);
  request.what = "read '" + path + "' in sandbox " + container_;
  auto reader = while_sandbox_exists(container_, [&] { return context_->client->open_reader(request); });
  auto tar = ArchiveReader::from_stream([&] { return reader->next(); }, archive_name(path));
  if (tar.next() == nullptr) throw Error(Errc::io, request.what + ": the daemon sent an empty archive");
  tar.read_data(sink);
}

void DockerFs::put_archive(const std::string& directory, const std::string& what,
                           const std::function<void(ArchiveWriter&)>& fill) {
  Request request;
  request.method = Method::put;
  request.target = archive_target(directory) + "&noOverwriteDirNonDir=true";
  request.content_type = "application/x-tar";
  request.what = what;
  auto writer = while_sandbox_exists(container_, [&] { return context_->client->open_writer(request); });
  ArchiveWriter tar(
      [&](std::string_view chunk) {
        writer->write(chunk);
        return true;
      },
      what);
  fill(tar);
  tar.finish();
  while_sandbox_exists(container_, [&] { return writer->finish(); });
}

void DockerFs::write_stream(const std::string& raw_path, const ChunkSource& source, std::uint32_t mode) {
  check_alive_();
  std::string path = checked_sandbox_path(raw_path);
  if (path == "/") throw Error(Errc::invalid_argument, "write '/' in sandbox " + container_ + ": it is a directory");
  const std::string what = "write '" + path + "' in sandbox " + container_;
  // A tar header carries the size before the data, so the content is staged in an unnamed
  // temporary file first (bounded memory for any size).
  TempFile staged;
  std::uint64_t size = 0;
  const ChunkSource limited = limit_file_size(source, max_file_bytes_, what);
  for (auto chunk = limited(); !chunk.empty(); chunk = limited()) {
    std::string_view rest = chunk;
    while (!rest.empty()) {
      ssize_t n = ::write(staged.fd(), rest.data(), rest.size());
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) throw Error(Errc::io, what + ": staging the content failed: " + std::strerror(errno));
      rest.remove_prefix(static_cast<std::size_t>(n));
    }
    size += chunk.size();
  }
  if (::lseek(staged.fd(), 0, SEEK_SET) != 0) throw_system_error(what + ": rewinding the staged file", errno);
  if (exists(path) && stat(path).type == FileType::directory)
    throw Error(Errc::already_exists, what + ": a directory is in the way");
  if (archive_put_creates_directories(context_->client->engine()) && !exists(parent_of(path)))
    throw Error(Errc::not_found, what + ": '" + parent_of(path) + "' does not exist");
  put_archive(parent_of(path), what,
              [&](ArchiveWriter& tar) {
                std::vector<char> buffer(64 * 1024);
                tar.add_file_stream(
                    name_of(path), size,
                    [&]() -> std::string_view {
                      for (;;) {
                        ssize_t n = ::read(staged.fd(), buffer.data(), buffer.size());
                        if (n < 0 && errno == EINTR) continue;
                        if (n < 0) throw Error(Errc::io, what + ": reading the staged file failed: " + std::strerror(errno));
                        return std::string_view(buffer.data(), static_cast<std::size_t>(n));
                      }
                    },
                    ArchiveEntryOptions{mode & 07777, owner_uid_, owner_gid_, ::time(nullptr)});
              });
}

void DockerFs::stage_files(const std::vector<SandboxFile>& files) {
  check_alive_();
  const std::string what = "staging " + std::to_string(files.size()) + " file(s) in sandbox " + container_;
  put_archive("/", what, [&](ArchiveWriter& tar) { add_files_to_archive(tar, files, max_file_bytes_, owner_uid_, owner_gid_); });
}

void DockerFs::mkdir(const std::string& raw_path, bool parents, std::uint32_t mode) {
  check_alive_();
  std::string path = checked_sandbox_path(raw_path);
  const std::string what = "mkdir '" + path + "' in sandbox " + container_;
  if (exists(path)) {
    if (parents && stat(path).type == FileType::directory) return;
    throw Error(Errc::already_exists, what + ": it already exists");
  }
  // Find the deepest existing ancestor; only the missing directories go into the tar, so
  // existing ones keep their modes.
  std::vector<std::string> missing{name_of(path)};
  std::string ancestor = parent_of(path);
  while (ancestor != "/" && !exists(ancestor)) {
    if (!parents) throw Error(Errc::not_found, what + ": the parent '" + ancestor + "' does not exist");
    missing.push_back(name_of(ancestor));
    ancestor = parent_of(ancestor);
  }
  if (stat(ancestor).type != FileType::directory)
    throw Error(Errc::invalid_argument, what + ": '" + ancestor + "' is not a directory");
  std::reverse(missing.begin(), missing.end());
  put_archive(ancestor, what, [&](ArchiveWriter& tar) {
    std::string relative;
    for (const auto& name : missing) {
      relative += (relative.empty() ? "" : "/") + name;
      tar.add_directory(relative, ArchiveEntryOptions{mode & 07777, owner_uid_, owner_gid_, ::time(nullptr)});
    }
  });
}

std::vector<DirEntry> DockerFs::list(const std::string& raw_path) {
  check_alive_();
  std::string path = checked_sandbox_path(raw_path);
  const std::string what = "list '" + path + "' in sandbox " + container_;
  FileStat info = stat(path);
  if (info.type != FileType::directory) throw Error(Errc::invalid_argument, what + ": not a directory");
  Request request;
  // "/." archives the directory's content with names relative to it.
  request.target = archive_target(path == "/" ? "/." : path + "/.");
  request.what = what;
  auto reader = while_sandbox_exists(container_, [&] { return context_->client->open_reader(request); });
  auto tar = ArchiveReader::from_stream([&] { return reader->next(); }, archive_name(path));
  std::vector<DirEntry> entries;
  while (tar.next() != nullptr) {
    std::string name = tar.entry_relative_path();
    if (name.empty() || name.find('/') != std::string::npos) continue;
    entries.push_back(DirEntry{name, tar.entry_stat()});
  }
  std::sort(entries.begin(), entries.end(), [](const DirEntry& a, const DirEntry& b) { return a.name < b.name; });
  return entries;
}

void DockerFs::read_tree(const std::string& raw_path, const TreeVisitor& visit) {
  check_alive_();
  const std::string path = checked_sandbox_path(raw_path);
  const FileStat root = stat(path);
  const auto join = [&](const std::string& relative) { return path == "/" ? "/" + relative : path + "/" + relative; };
  if (root.type != FileType::directory) {
    visit(TreeEntry{"", root}, [&](const ChunkSink& sink) {
      if (root.type == FileType::regular) read_stream(path, sink);
    });
    return;
  }
  visit(TreeEntry{"", root}, [](const ChunkSink&) {});
  Request request;
  request.target = archive_target(path == "/" ? "/." : path + "/.");
  request.what = "read the tree '" + path + "' in sandbox " + container_;
  auto reader = while_sandbox_exists(container_, [&] { return context_->client->open_reader(request); });
  auto tar = ArchiveReader::from_stream([&] { return reader->next(); }, archive_name(path));
  while (tar.next() != nullptr) {
    const std::string relative = tar.entry_relative_path();
    if (relative.empty()) continue;  // the root, reported above
    const std::vector<std::string> parts = path_components(relative);
    if (std::find(parts.begin(), parts.end(), "..") != parts.end())
      throw Error(Errc::io, request.what + ": the daemon sent an entry '" + relative + "' with '..'");
    TreeEntry entry{relative, tar.entry_stat()};
    // A hardlink's data went with the first name of the file; it is read again by that name.
    const std::string hardlink = tar.entry_hardlink();
    visit(entry, [&](const ChunkSink& sink) {
      if (entry.stat.type != FileType::regular) return;
      if (hardlink.empty()) {
        tar.read_data(sink);
      } else {
        std::string target;
        for (const std::string& part : path_components(hardlink)) target += "/" + part;
        read_stream(join(target.substr(1)), sink);
      }
    });
  }
}

void DockerFs::run_tool(std::vector<std::string> argv, const std::string& what) {
  auto result = run_as_root_(std::move(argv));
  if (result.shell_status() != 0) {
    std::string message = result.stderr_data.empty() ? result.stdout_data : result.stderr_data;
    while (!message.empty() && message.back() == '\n') message.pop_back();
    throw Error(Errc::io, what + ": " + (message.empty() ? "exit status " + std::to_string(result.shell_status()) : message));
  }
}

void DockerFs::remove(const std::string& raw_path, bool recursive) {
  check_alive_();
  std::string path = checked_sandbox_path(raw_path);
  const std::string what = "remove '" + path + "' in sandbox " + container_;
  if (path == "/") throw Error(Errc::permission_denied, what + ": the root cannot be removed");
  FileStat info = stat(path);  // not_found when missing
  if (info.type == FileType::directory) {
    if (recursive)
      run_tool({"rm", "-rf", "--", path}, what);
    else
      run_tool({"rmdir", "--", path}, what);
  } else {
    run_tool({"rm", "-f", "--", path}, what);
  }
}

void DockerFs::rename(const std::string& raw_from, const std::string& raw_to) {
  check_alive_();
  std::string from = checked_sandbox_path(raw_from);
  std::string to = checked_sandbox_path(raw_to);
  const std::string what = "rename '" + from + "' to '" + to + "' in sandbox " + container_;
  stat(from);  // not_found when missing
  if (!exists(parent_of(to))) throw Error(Errc::not_found, what + ": '" + parent_of(to) + "' does not exist");
  run_tool({"mv", "-f", "--", from, to}, what);
}

void DockerFs::symlink(const std::string& target, const std::string& raw_path) {
  check_alive_();
  std::string path = checked_sandbox_path(raw_path);
  const std::string what = "symlink '" + path + "' -> '" + target + "' in sandbox " + container_;
  if (target.empty() || target.find('\0') != std::string::npos)
    throw Error(Errc::invalid_argument, what + ": the target must be non-empty and contain no NUL");
  if (exists(path)) throw Error(Errc::already_exists, what + ": the path already exists");
  if (!exists(parent_of(path))) throw Error(Errc::not_found, what + ": '" + parent_of(path) + "' does not exist");
  // Through ln, not the archive API: the daemon refuses to extract a link whose target
  // points above the root, although such a link is harmless (it resolves inside).
  run_tool({"ln", "-s", "--", target, path}, what);
}

}  // namespace hutch::docker
