// The generic fork factory and copy_tree: copy a sandbox's files through two Fs objects, so
// any backend with an Fs can fork, and `hutch cp` can copy between sandboxes.
#include <hutch/backend.hpp>
#include <hutch/error.hpp>
#include <hutch/fork.hpp>
#include <hutch/fs.hpp>

#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <exception>
#include <mutex>
#include <string>
#include <thread>
#include <utility>
#include <vector>

namespace hutch {
namespace {

// Fs::read_stream pushes chunks into a callback while Fs::write_stream pulls them from one.
// The pipe joins the two: a reader thread pushes, the writer pulls, and at most kMaxQueued
// chunks wait in between, so a multi-gigabyte file never sits in memory.
class ChunkPipe {
 public:
  static constexpr std::size_t kMaxQueued = 4;

  // Reader side. Returns false when the writer gave up, which stops read_stream early.
  bool push(std::string_view chunk) {
    if (chunk.empty()) return true;  // an empty chunk would look like the end to the writer
    std::unique_lock lock(mutex_);
    space_.wait(lock, [&] { return cancelled_ || queue_.size() < kMaxQueued; });
    if (cancelled_) {
      refused_ = true;
      return false;
    }
    queue_.emplace_back(chunk);
    ready_.notify_one();
    return true;
  }
  void finish(std::exception_ptr error) {
    std::lock_guard lock(mutex_);
    finished_ = true;
    reader_error_ = std::move(error);
    ready_.notify_one();
  }

  // Writer side: the next chunk, empty at the end; rethrows the reader's error.
  std::string_view pull() {
    std::unique_lock lock(mutex_);
    ready_.wait(lock, [&] { return !queue_.empty() || finished_; });
    if (queue_.empty()) {
      if (reader_error_) std::rethrow_exception(reader_error_);
      current_.clear();
      return {};
    }
    current_ = std::move(queue_.front());
    queue_.pop_front();
    space_.notify_one();
    return current_;
  }
  void cancel() {
    std::lock_guard lock(mutex_);
    cancelled_ = true;
    space_.notify_all();
  }
  // True when the reader reached the end and the writer took every chunk.
  bool drained() {
    std::lock_guard lock(mutex_);
    return finished_ && !refused_ && !reader_error_ && queue_.empty();
  }

 private:
  std::mutex mutex_;
  std::condition_variable ready_;
  std::condition_variable space_;
  std::deque<std::string> queue_;
  std::string current_;  // what the last pull() returned; must outlive the returned view
  bool finished_ = false;
  bool cancelled_ = false;
  bool refused_ = false;  // a chunk came after cancel(): the writer did not take everything
  std::exception_ptr reader_error_;
};

void copy_file(Fs& from, const std::string& from_path, Fs& to, const std::string& to_path,
               std::uint32_t mode) {
  ChunkPipe pipe;
  std::thread reader([&] {
    try {
      from.read_stream(from_path, [&](std::string_view chunk) { return pipe.push(chunk); });
      pipe.finish(nullptr);
    } catch (...) {
      pipe.finish(std::current_exception());
    }
  });
  try {
    to.write_stream(to_path, [&] { return pipe.pull(); }, mode);
  } catch (...) {
    pipe.cancel();
    reader.join();
    throw;
  }
  // A write_stream that returns before the empty chunk would leave the reader blocked.
  pipe.cancel();
  reader.join();
  if (!pipe.drained())
    throw Error(Errc::io, "copy of '" + from_path + "' to '" + to_path +
                              "': the destination stopped reading before the end of the file");
}

std::string parent_of(const std::string& path) {
  auto slash = path.rfind('/');
  return slash == 0 || slash == std::string::npos ? "/" : path.substr(0, slash);
}

std::string join(const std::string& dir, const std::string& name) {
  return dir == "/" ? "/" + name : dir + "/" + name;
}

bool is_within(const std::string& path, const std::string& prefix) {
  if (prefix == "/") return true;
  return path == prefix ||
         (path.size() > prefix.size() && path.compare(0, prefix.size(), prefix) == 0 &&
          path[prefix.size()] == '/');
}

// The destination of a symlink or file must not be a different kind of object: a fresh
// sandbox of the same image already has most paths, and symlink() refuses to overwrite.
void clear_conflicting(Fs& to, const std::string& to_path, const FileStat& source) {
  if (!to.exists(to_path)) return;
  FileStat existing = to.stat(to_path);
  bool same_kind = existing.type == source.type && existing.type != FileType::symlink;
  if (!same_kind) to.remove(to_path, existing.type == FileType::directory);
}

class TreeCopier {
 public:
  TreeCopier(Fs& from, Fs& to, std::vector<std::string> excluded)
      : from_(from), to_(to), excluded_(std::move(excluded)) {}

  void copy(const std::string& from_path, const std::string& to_path) {
    for (const auto& skipped : excluded_)
      if (is_within(from_path, skipped)) return;
    FileStat source = from_.stat(from_path);
    switch (source.type) {
      case FileType::directory:
        if (to_.exists(to_path) && to_.stat(to_path).type != FileType::directory)
          to_.remove(to_path);
        to_.mkdir(to_path, true, source.mode & 07777);
        for (const auto& entry : from_.list(from_path))
          copy(join(from_path, entry.name), join(to_path, entry.name));
        break;
      case FileType::regular:
        clear_conflicting(to_, to_path, source);
        copy_file(from_, from_path, to_, to_path, source.mode & 07777);
        break;
      case FileType::symlink:
        if (to_.exists(to_path)) {
          FileStat existing = to_.stat(to_path);
          if (existing.type == FileType::symlink && existing.link_target == source.link_target)
            return;
          to_.remove(to_path, existing.type == FileType::directory);
        }
        to_.symlink(source.link_target, to_path);
        break;
      case FileType::other:
        break;  // devices, fifos and sockets belong to the running sandbox, not its files
    }
  }

 private:
  Fs& from_;
  Fs& to_;
  std::vector<std::string> excluded_;
};

// Mounts whose source is shared (volumes, binds, ...) appear in the fork as the same source:
// copying them would read and truncate the very same files.
std::vector<std::string> shared_mount_targets(const SandboxSpec& spec) {
  std::vector<std::string> targets;
  for (const auto& mount : spec.mounts)
    if (mount.type != MountType::tmpfs) targets.push_back(normalize_sandbox_path(mount.target));
  return targets;
}

class FsCopyForkFactory final : public ForkFactory {
 public:
  FsCopyForkFactory(SandboxBackend& backend, FsForkOptions options)
      : backend_(backend), options_(std::move(options)) {
    for (auto& root : options_.roots) root = normalize_sandbox_path(root);
    for (auto& path : options_.excluded) path = normalize_sandbox_path(path);
  }

  std::shared_ptr<Handle> fork(Handle& source) override {
    SandboxSpec spec = source.spec();
    // The backend adds its own hutch.* labels (a new id, this process as owner); passing the
    // source's would be refused as reserved.
    std::erase_if(spec.labels, [](const auto& label) { return label.first.starts_with("hutch."); });

    std::vector<std::string> excluded = options_.excluded;
    for (auto& target : shared_mount_targets(spec)) excluded.push_back(std::move(target));

    std::shared_ptr<Handle> copy = backend_.create(spec);
    try {
      TreeCopier copier(source.fs(), copy->fs(), excluded);
      for (const auto& root : options_.roots) {
        if (!source.fs().exists(root))
          throw Error(Errc::not_found, "fork of sandbox '" + source.id() + "': root '" + root +
                                           "' does not exist in the source");
        copier.copy(root, root);
      }
    } catch (const Error& e) {
      destroy_quietly(*copy);
      throw Error(e.code(), "fork of sandbox '" + source.id() + "' into '" + copy->id() +
                                "' failed (the partial copy was destroyed): " + e.what());
    } catch (...) {
      destroy_quietly(*copy);
      throw;
    }
    return copy;
  }

 private:
  static void destroy_quietly(Handle& handle) noexcept {
    try {
      handle.destroy();
    } catch (...) {
      // The copy error is the one worth reporting; a leaked sandbox is found by `hutch prune`.
    }
  }

  SandboxBackend& backend_;
  FsForkOptions options_;
};

}  // namespace

std::shared_ptr<ForkFactory> make_fs_copy_fork_factory(SandboxBackend& backend,
                                                       FsForkOptions options) {
  return std::make_shared<FsCopyForkFactory>(backend, std::move(options));
}

void copy_tree(Fs& from, const std::string& from_path, Fs& to, const std::string& to_path) {
  std::string source = normalize_sandbox_path(from_path);
  std::string target = normalize_sandbox_path(to_path);
  if (&from == &to && is_within(target, source))
    throw Error(Errc::invalid_argument, "cannot copy '" + source + "' into itself ('" + target + "')");
  to.mkdir(parent_of(target), true);
  TreeCopier(from, to, {}).copy(source, target);
}

}  // namespace hutch
