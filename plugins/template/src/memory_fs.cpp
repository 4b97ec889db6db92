#include "memory_fs.hpp"

#include <hutch/error.hpp>

#include <algorithm>
#include <deque>
#include <utility>

namespace hutch_template {

namespace {

using hutch::Errc;
using hutch::FileType;

constexpr int kMaxSymlinks = 40;  // as Linux's ELOOP limit
constexpr std::size_t kReadChunk = 64 * 1024;

std::string join(const std::vector<std::string>& parts) {
  if (parts.empty()) return "/";
  std::string path;
  for (const auto& part : parts) path += "/" + part;
  return path;
}

std::string parent_key(const std::string& key) {
  const auto slash = key.rfind('/');
  return slash == 0 || slash == std::string::npos ? "/" : key.substr(0, slash);
}

std::string children_prefix(const std::string& key) { return key == "/" ? "/" : key + "/"; }

}  // namespace

MemoryFs::MemoryFs(std::string sandbox_id, std::optional<std::uint64_t> max_file_bytes)
    : sandbox_id_(std::move(sandbox_id)), max_file_bytes_(max_file_bytes) {
  nodes_["/"] = Node{FileType::directory, {}, {}, 0755};
  // Most programs and tests expect a writable /tmp, as any image has.
  nodes_["/tmp"] = Node{FileType::directory, {}, {}, 01777};
}

void MemoryFs::close() {
  std::lock_guard lock(mutex_);
  closed_ = true;
  nodes_.clear();
}

void MemoryFs::fail(Errc code, const std::string& path, const std::string& what) const {
  throw hutch::Error(code, "sandbox " + sandbox_id_ + ": " + path + ": " + what);
}

void MemoryFs::check_open() const {
  if (closed_) throw hutch::Error(Errc::state, "sandbox " + sandbox_id_ + " is destroyed");
}

std::string MemoryFs::resolve(const std::string& path, bool follow_last) const {
  const auto normalized = hutch::path_components(hutch::normalize_sandbox_path(path));
  std::deque<std::string> pending(normalized.begin(), normalized.end());
  std::vector<std::string> resolved;
  int links_followed = 0;
  while (!pending.empty()) {
    std::string part = std::move(pending.front());
    pending.pop_front();
    if (part == "..") {
      if (!resolved.empty()) resolved.pop_back();
      continue;
    }
    resolved.push_back(std::move(part));
    const auto found = nodes_.find(join(resolved));
    const bool last = pending.empty();
    if (found == nodes_.end() || found->second.type != FileType::symlink || (last && !follow_last))
      continue;
    if (++links_followed > kMaxSymlinks)
      fail(Errc::invalid_argument, path, "too many levels of symbolic links");
    resolved.pop_back();
    const std::string& target = found->second.link_target;
    // An absolute target starts again at the sandbox root, never at the host's.
    if (target.front() == '/') resolved.clear();
    const auto target_parts = hutch::path_components(target);
    pending.insert(pending.begin(), target_parts.begin(), target_parts.end());
  }
  return join(resolved);
}

MemoryFs::Node& MemoryFs::existing(const std::string& key, const std::string& path) {
  const auto found = nodes_.find(key);
  if (found == nodes_.end()) fail(Errc::not_found, path, "no such file or directory");
  return found->second;
}

void MemoryFs::require_parent_directory(const std::string& key, const std::string& path) const {
  const auto parent = nodes_.find(parent_key(key));
  if (parent == nodes_.end()) fail(Errc::not_found, path, "parent directory does not exist");
  if (parent->second.type != FileType::directory)
    fail(Errc::invalid_argument, path, "parent is not a directory");
}

bool MemoryFs::has_children(const std::string& key) const {
  const std::string prefix = children_prefix(key);
  auto it = nodes_.lower_bound(prefix);
  if (it != nodes_.end() && it->first == key) ++it;  // the root is its own prefix
  return it != nodes_.end() && it->first.starts_with(prefix);
}

hutch::FileStat MemoryFs::stat_of(const Node& node) const {
  hutch::FileStat stat;
  stat.type = node.type;
  stat.mode = node.mode;
  stat.mtime = node.mtime;
  if (node.type == FileType::regular) stat.size = node.data.size();
  if (node.type == FileType::symlink) {
    stat.size = node.link_target.size();
    stat.link_target = node.link_target;
  }
  return stat;
}

void MemoryFs::read_stream(const std::string& path, const hutch::ChunkSink& sink) {
  std::string content;
  {
    std::lock_guard lock(mutex_);
    check_open();
    const Node& node = existing(resolve(path, true), path);
    if (node.type == FileType::directory) fail(Errc::invalid_argument, path, "is a directory");
    content = node.data;
  }
  // The sink runs unlocked: it may call back into this Fs.
  for (std::size_t offset = 0; offset < content.size(); offset += kReadChunk)
    if (!sink(std::string_view(content).substr(offset, kReadChunk))) return;
}

void MemoryFs::write_stream(const std::string& path, const hutch::ChunkSource& source,
                            std::uint32_t mode) {
  hutch::normalize_sandbox_path(path);  // reject a bad path before consuming the source
  // SandboxSpec::max_file_bytes: the core's wrapper refuses the chunk that goes beyond it.
  const hutch::ChunkSource limited =
      hutch::limit_file_size(source, max_file_bytes_, "write '" + path + "' in sandbox " + sandbox_id_);
  std::string content;
  for (auto chunk = limited(); !chunk.empty(); chunk = limited()) content.append(chunk);

  std::lock_guard lock(mutex_);
  check_open();
  const std::string key = resolve(path, true);
  if (key == "/") fail(Errc::invalid_argument, path, "is a directory");
  require_parent_directory(key, path);
  auto found = nodes_.find(key);
  if (found != nodes_.end() && found->second.type == FileType::directory)
    fail(Errc::invalid_argument, path, "is a directory");
  nodes_[key] = Node{FileType::regular, std::move(content), {}, mode & 07777};
}

void MemoryFs::mkdir(const std::string& path, bool parents, std::uint32_t mode) {
  std::lock_guard lock(mutex_);
  check_open();
  const std::string key = resolve(path, true);
  if (auto found = nodes_.find(key); found != nodes_.end()) {
    if (parents && found->second.type == FileType::directory) return;
    fail(Errc::already_exists, path, "already exists");
  }
  if (!parents) {
    require_parent_directory(key, path);
  } else {
    std::vector<std::string> ancestor;
    const auto parts = hutch::path_components(key);
    for (std::size_t i = 0; i + 1 < parts.size(); ++i) {
      ancestor.push_back(parts[i]);
      auto [it, created] = nodes_.try_emplace(join(ancestor), Node{FileType::directory, {}, {}, mode & 07777});
      if (!created && it->second.type != FileType::directory)
        fail(Errc::invalid_argument, path, join(ancestor) + " is not a directory");
    }
  }
  nodes_[key] = Node{FileType::directory, {}, {}, mode & 07777};
}

std::vector<hutch::DirEntry> MemoryFs::list(const std::string& path) {
  std::lock_guard lock(mutex_);
  check_open();
  const std::string key = resolve(path, true);
  if (existing(key, path).type != FileType::directory)
    fail(Errc::invalid_argument, path, "not a directory");
  const std::string prefix = children_prefix(key);
  std::vector<hutch::DirEntry> entries;
  for (auto it = nodes_.lower_bound(prefix); it != nodes_.end() && it->first.starts_with(prefix); ++it) {
    const std::string name = it->first.substr(prefix.size());
    if (name.empty() || name.find('/') != std::string::npos) continue;  // itself, or deeper
    entries.push_back(hutch::DirEntry{name, stat_of(it->second)});
  }
  std::sort(entries.begin(), entries.end(),
            [](const auto& a, const auto& b) { return a.name < b.name; });
  return entries;
}

hutch::FileStat MemoryFs::stat(const std::string& path) {
  std::lock_guard lock(mutex_);
  check_open();
  return stat_of(existing(resolve(path, false), path));
}

void MemoryFs::remove(const std::string& path, bool recursive) {
  std::lock_guard lock(mutex_);
  check_open();
  const std::string key = resolve(path, false);
  if (key == "/") fail(Errc::permission_denied, path, "the root directory cannot be removed");
  const Node& node = existing(key, path);
  if (node.type == FileType::directory && has_children(key) && !recursive)
    fail(Errc::invalid_argument, path, "directory not empty (remove it recursively)");
  nodes_.erase(key);
  const std::string prefix = children_prefix(key);
  auto it = nodes_.lower_bound(prefix);
  while (it != nodes_.end() && it->first.starts_with(prefix)) it = nodes_.erase(it);
}

void MemoryFs::rename(const std::string& from, const std::string& to) {
  std::lock_guard lock(mutex_);
  check_open();
  const std::string from_key = resolve(from, false);
  const std::string to_key = resolve(to, false);
  const Node& source = existing(from_key, from);
  if (from_key == to_key) return;
  if (from_key == "/") fail(Errc::permission_denied, from, "the root directory cannot be moved");
  if (to_key.starts_with(children_prefix(from_key)))
    fail(Errc::invalid_argument, to, "cannot move " + from + " into itself");
  require_parent_directory(to_key, to);
  if (auto target = nodes_.find(to_key); target != nodes_.end()) {
    const bool source_is_dir = source.type == FileType::directory;
    const bool target_is_dir = target->second.type == FileType::directory;
    if (target_is_dir && !source_is_dir) fail(Errc::invalid_argument, to, "is a directory");
    if (!target_is_dir && source_is_dir) fail(Errc::invalid_argument, to, "not a directory");
    if (target_is_dir && has_children(to_key)) fail(Errc::invalid_argument, to, "directory not empty");
    nodes_.erase(target);
  }
  // Move the node and everything below it under the new name.
  std::vector<std::pair<std::string, Node>> moved;
  moved.emplace_back(to_key, std::move(nodes_.at(from_key)));
  nodes_.erase(from_key);
  const std::string prefix = children_prefix(from_key);
  for (auto it = nodes_.lower_bound(prefix); it != nodes_.end() && it->first.starts_with(prefix);) {
    moved.emplace_back(to_key + it->first.substr(from_key.size()), std::move(it->second));
    it = nodes_.erase(it);
  }
  for (auto& [key, node] : moved) nodes_[key] = std::move(node);
}

void MemoryFs::symlink(const std::string& target, const std::string& path) {
  if (target.empty()) fail(Errc::invalid_argument, path, "symlink target is empty");
  if (target.find('\0') != std::string::npos)
    fail(Errc::invalid_argument, path, "symlink target contains a NUL byte");
  std::lock_guard lock(mutex_);
  check_open();
  const std::string key = resolve(path, false);
  if (nodes_.contains(key)) fail(Errc::already_exists, path, "already exists");
  require_parent_directory(key, path);
  nodes_[key] = Node{FileType::symlink, {}, target, 0777};
}

}  // namespace hutch_template
