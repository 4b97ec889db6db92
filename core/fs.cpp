// Default implementations of the convenience verbs of Fs, and the path rules every backend
// applies before resolving a path in its own way.
#include <hutch/error.hpp>
#include <hutch/fs.hpp>

#include <string>
#include <vector>

namespace hutch {

std::string Fs::read(const std::string& path) {
  std::string content;
  read_stream(path, [&](std::string_view chunk) {
    content.append(chunk);
    return true;
  });
  return content;
}

void Fs::write(const std::string& path, std::string_view data, std::uint32_t mode) {
  bool sent = false;
  write_stream(
      path,
      [&]() -> std::string_view {
        if (sent) return {};
        sent = true;
        return data;
      },
      mode);
}

namespace {

// mkdir -p of the directory holding `path`; the root always exists.
void make_parents(Fs& fs, const std::string& path) {
  const std::string clean = normalize_sandbox_path(path);
  const auto slash = clean.rfind('/');
  if (slash != 0) fs.mkdir(clean.substr(0, slash), true);
}

}  // namespace

void Fs::write(const std::string& path, std::string_view data, const WriteOptions& options) {
  if (options.parents) make_parents(*this, path);
  write(path, data, options.mode);
}

void Fs::write_stream(const std::string& path, const ChunkSource& source, const WriteOptions& options) {
  if (options.parents) make_parents(*this, path);
  write_stream(path, source, options.mode);
}

ChunkSource limit_file_size(ChunkSource source, std::optional<std::uint64_t> limit, std::string what) {
  if (!limit) return source;
  return [source = std::move(source), limit = *limit, what = std::move(what),
          total = std::uint64_t{0}]() mutable -> std::string_view {
    std::string_view chunk = source();
    total += chunk.size();
    if (total > limit)
      throw Error(Errc::invalid_argument, what + ": more than " + std::to_string(limit) +
                                              " bytes (the sandbox's max_file_bytes)");
    return chunk;
  };
}

namespace {

void walk(Fs& fs, const std::string& path, const std::string& relative, const FileStat& stat,
          const TreeVisitor& visit) {
  visit(TreeEntry{relative, stat}, [&](const ChunkSink& sink) {
    if (stat.type == FileType::regular) fs.read_stream(path, sink);
  });
  if (stat.type != FileType::directory) return;
  for (const DirEntry& entry : fs.list(path))
    walk(fs, path == "/" ? "/" + entry.name : path + "/" + entry.name,
         relative.empty() ? entry.name : relative + "/" + entry.name, entry.stat, visit);
}

}  // namespace

void Fs::read_tree(const std::string& path, const TreeVisitor& visit) {
  const std::string root = normalize_sandbox_path(path);
  walk(*this, root, "", stat(root), visit);
}

bool Fs::exists(const std::string& path) {
  try {
    stat(path);
    return true;
  } catch (const Error& e) {
    if (e.code() == Errc::not_found) return false;
    throw;
  }
}

std::string normalize_sandbox_path(std::string_view path) {
  if (path.empty() || path.front() != '/')
    throw Error(Errc::invalid_argument,
                "path '" + std::string(path) + "' must be absolute (start with '/')");
  if (path.find('\0') != std::string_view::npos)
    throw Error(Errc::invalid_argument, "path contains a NUL byte");
  std::string out;
  for (const auto& part : path_components(path)) {
    out += '/';
    out += part;
  }
  return out.empty() ? "/" : out;
}

std::vector<std::string> path_components(std::string_view path) {
  std::vector<std::string> parts;
  std::size_t pos = 0;
  while (pos <= path.size()) {
    std::size_t next = path.find('/', pos);
    if (next == std::string_view::npos) next = path.size();
    std::string_view part = path.substr(pos, next - pos);
    if (!part.empty() && part != ".") parts.emplace_back(part);
    pos = next + 1;
  }
  return parts;
}

}  // namespace hutch
