// Staging a manifest of files into a new sandbox (anvia's manifest, StartOS's writeFile).
#include <hutch/error.hpp>
#include <hutch/fs.hpp>
#include <hutch/sandbox_files.hpp>

#include <hutch/archive.hpp>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <ctime>

#include <cerrno>
#include <charconv>
#include <cstring>
#include <map>
#include <set>
#include <string>
#include <string_view>
#include <utility>

namespace hutch {
namespace {

bool is_id(std::string_view text) {
  std::uint32_t value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  return !text.empty() && ec == std::errc() && end == text.data() + text.size();
}

bool is_owner(std::string_view owner) {
  const auto colon = owner.find(':');
  if (colon == std::string_view::npos) return is_id(owner);
  return is_id(owner.substr(0, colon)) && is_id(owner.substr(colon + 1));
}

// A host file, opened for reading; closed with the object.
class HostFile {
 public:
  HostFile(const std::string& path, const std::string& what) : fd_(::open(path.c_str(), O_RDONLY | O_CLOEXEC)) {
    if (fd_ < 0)
      throw Error(errno == ENOENT ? Errc::not_found : Errc::io,
                  what + ": cannot open host file '" + path + "': " + std::strerror(errno));
  }
  ~HostFile() { ::close(fd_); }
  // Its size now (what an archive entry's header announces).
  std::uint64_t size(const std::string& what) const {
    struct stat info {};
    if (::fstat(fd_, &info) != 0) throw Error(Errc::io, what + ": stat of the host file failed: " + std::strerror(errno));
    if (!S_ISREG(info.st_mode)) throw Error(Errc::invalid_argument, what + ": the host source is not a regular file");
    return static_cast<std::uint64_t>(info.st_size);
  }
  HostFile(const HostFile&) = delete;
  HostFile& operator=(const HostFile&) = delete;

  // The next chunk; empty at the end.
  std::string_view next(const std::string& what) {
    for (;;) {
      const ssize_t got = ::read(fd_, buffer_.data(), buffer_.size());
      if (got >= 0) return std::string_view(buffer_.data(), static_cast<std::size_t>(got));
      if (errno != EINTR) throw Error(Errc::io, what + ": reading the host file failed: " + std::strerror(errno));
    }
  }

 private:
  int fd_;
  std::string buffer_ = std::string(64 * 1024, '\0');
};

// The directories holding `files`, each once: made before the files, so a manifest of many
// files in few directories costs one mkdir a directory, not one a file (on docker each is a
// round trip or two to the engine).
std::set<std::string> parent_directories(const std::vector<SandboxFile>& files) {
  std::set<std::string> parents;
  for (const auto& file : files) {
    const std::string clean = normalize_sandbox_path(file.path);
    if (const auto slash = clean.rfind('/'); slash != 0) parents.insert(clean.substr(0, slash));
  }
  return parents;
}

void stage_one(Fs& fs, const SandboxFile& file, const std::string& what) {
  const WriteOptions options{file.mode, false};  // parents: made by stage_files first
  if (file.source.empty()) {
    fs.write(file.path, file.content, options);
    return;
  }
  HostFile source(file.source, what);
  fs.write_stream(file.path, [&] { return source.next(what); }, options);
}

}  // namespace

void validate_files(const std::vector<SandboxFile>& files) {
  std::set<std::string> seen;
  for (std::size_t i = 0; i < files.size(); ++i) {
    const SandboxFile& file = files[i];
    const std::string where = "files[" + std::to_string(i) + "] '" + file.path + "'";
    auto invalid = [&](const std::string& problem) { throw Error(Errc::invalid_argument, where + ": " + problem); };
    std::string clean;
    try {
      clean = normalize_sandbox_path(file.path);
    } catch (const Error& e) {
      invalid(e.what());
    }
    if (clean == "/") invalid("the path must name a file, not '/'");
    if (!seen.insert(clean).second) invalid("the path is given twice");
    if (!file.source.empty() && !file.content.empty()) invalid("give content or a host source, not both");
    if (!file.source.empty() && file.source.front() != '/')
      invalid("the host source must be an absolute path, got '" + file.source + "'");
    if (file.source.find('\0') != std::string::npos) invalid("the host source contains a NUL byte");
    if (file.mode > 07777) invalid("mode " + std::to_string(file.mode) + " is beyond 07777");
    if (!file.owner.empty() && !is_owner(file.owner))
      invalid("owner must be \"uid\" or \"uid:gid\" (numbers), got '" + file.owner + "'");
  }
}

void add_files_to_archive(ArchiveWriter& tar, const std::vector<SandboxFile>& files,
                          std::optional<std::uint64_t> max_file_bytes, std::uint32_t uid, std::uint32_t gid) {
  const std::int64_t now = ::time(nullptr);
  // Sizes first, so that a file too large is refused before anything is written.
  if (max_file_bytes)
    for (std::size_t i = 0; i < files.size(); ++i) {
      const SandboxFile& file = files[i];
      const std::string what = "files[" + std::to_string(i) + "] '" + file.path + "'";
      const std::uint64_t size = file.source.empty() ? file.content.size() : HostFile(file.source, what).size(what);
      if (size > *max_file_bytes)
        throw Error(Errc::invalid_argument, what + ": " + std::to_string(size) + " bytes, more than the sandbox's max_file_bytes (" +
                                                std::to_string(*max_file_bytes) + ")");
    }
  for (std::size_t i = 0; i < files.size(); ++i) {
    const SandboxFile& file = files[i];
    const std::string what = "files[" + std::to_string(i) + "] '" + file.path + "'" +
                             (file.source.empty() ? std::string() : " from host file '" + file.source + "'");
    try {
      const std::string relative = normalize_sandbox_path(file.path).substr(1);
      const ArchiveEntryOptions options{file.mode, uid, gid, now};
      if (file.source.empty()) {
        bool given = false;
        const ChunkSource once = [&]() -> std::string_view { return std::exchange(given, true) ? std::string_view() : file.content; };
        tar.add_file_stream(relative, file.content.size(), limit_file_size(once, max_file_bytes, what), options);
      } else {
        HostFile source(file.source, what);
        tar.add_file_stream(relative, source.size(what), limit_file_size([&] { return source.next(what); }, max_file_bytes, what),
                            options);
      }
    } catch (const Error& e) {
      if (std::string_view(e.what()).starts_with(what)) throw;
      throw Error(e.code(), what + ": " + e.what());
    }
  }
}

void stage_files(Handle& sandbox, const std::vector<SandboxFile>& files) {
  if (files.empty()) return;
  Fs& fs = sandbox.fs();
  for (const auto& directory : parent_directories(files)) {
    try {
      fs.mkdir(directory, true);
    } catch (const Error& e) {
      throw Error(e.code(), "sandbox " + sandbox.id() + ": making directory '" + directory + "' for the staged files: " +
                                e.what());
    }
  }
  std::map<std::string, std::vector<std::string>> by_owner;
  for (const auto& file : files) {
    const std::string what = "sandbox " + sandbox.id() + ": staging '" + file.path + "'" +
                             (file.source.empty() ? std::string() : " from host file '" + file.source + "'");
    try {
      stage_one(fs, file, what);
    } catch (const Error& e) {
      if (std::string_view(e.what()).starts_with(what)) throw;
      throw Error(e.code(), what + ": " + e.what());
    }
    if (!file.owner.empty()) by_owner[file.owner].push_back(file.path);
  }
  // Fs has no chown: the sandbox's own chown, as root inside, gives the files away.
  for (const auto& [owner, paths] : by_owner) {
    ExecRequest chown;
    chown.argv = {"chown", owner};
    chown.argv.insert(chown.argv.end(), paths.begin(), paths.end());
    chown.user = "0";
    chown.timeout = std::chrono::seconds(60);
    const ExecResult result = sandbox.exec(chown);
    if (result.shell_status() != 0)
      throw Error(Errc::io, "sandbox " + sandbox.id() + ": giving " + std::to_string(paths.size()) +
                                " staged file(s) to owner " + owner + " failed (chown, status " +
                                std::to_string(result.shell_status()) + "): " + result.stderr_data);
  }
}

std::shared_ptr<Handle> stage_files_or_destroy(std::shared_ptr<Handle> sandbox, const std::vector<SandboxFile>& files,
                                               const FileStager& stage) {
  if (files.empty()) return sandbox;
  try {
    stage(*sandbox, files);
  } catch (...) {
    try {
      sandbox->destroy();
    } catch (...) {
      // The staging error is the one the caller needs; prune finds what this left.
    }
    throw;
  }
  return sandbox;
}

std::vector<SandboxFile> with_sources_read(std::vector<SandboxFile> files) {
  for (std::size_t i = 0; i < files.size(); ++i) {
    SandboxFile& file = files[i];
    if (file.source.empty()) continue;
    const std::string what = "files[" + std::to_string(i) + "] '" + file.path + "'";
    HostFile source(file.source, what);
    file.content.clear();
    for (std::string_view chunk = source.next(what); !chunk.empty(); chunk = source.next(what)) file.content.append(chunk);
    file.source.clear();
  }
  return files;
}

SandboxSpec without_file_contents(SandboxSpec spec) {
  for (auto& file : spec.files) file.content.clear();
  return spec;
}

}  // namespace hutch
