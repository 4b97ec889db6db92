// envd's filesystem.Filesystem service (packages/envd/spec/filesystem/filesystem.proto) over
// the sandbox's Fs. Directory watches poll: the backends' Fs has no change notification, so a
// watch compares listings every kPollInterval and reports the differences as envd's events
// (create, write, remove, chmod); a rename shows as a remove and a create.
#include "connect_protocol.hpp"
#include "context.hpp"
#include "entries.hpp"

#include <hutch/error.hpp>
#include <hutch/handle.hpp>

#include <map>
#include <mutex>
#include <random>
#include <thread>

namespace hutch::server::e2b {

namespace json = boost::json;

namespace {

constexpr std::chrono::milliseconds kPollInterval{200};
constexpr std::chrono::seconds kWatchKeepAlive{5};
constexpr std::int64_t kMaxDepth = 64;

std::string join(const std::string& dir, const std::string& name) { return dir == "/" ? "/" + name : dir + "/" + name; }

// The entries under `dir` down to `depth` levels, parents before children.
void list_tree(Fs& fs, const std::string& dir, std::int64_t depth, json::array& entries) {
  for (const DirEntry& entry : fs.list(dir)) {
    const std::string path = join(dir, entry.name);
    entries.push_back(entry_info(path, entry.stat));
    if (depth > 1 && entry.stat.type == FileType::directory) list_tree(fs, path, depth - 1, entries);
  }
}

// One listing of a watched directory: relative name -> what a change would alter.
struct Seen {
  FileType type;
  std::uint64_t size;
  std::uint32_t mode;
  std::chrono::system_clock::time_point mtime;
};
using Snapshot = std::map<std::string, Seen>;

void snapshot_into(Fs& fs, const std::string& dir, const std::string& prefix, bool recursive, Snapshot& seen) {
  for (const DirEntry& entry : fs.list(dir)) {
    const std::string name = prefix.empty() ? entry.name : prefix + "/" + entry.name;
    seen[name] = {entry.stat.type, entry.stat.size, entry.stat.mode, entry.stat.mtime};
    if (recursive && entry.stat.type == FileType::directory) {
      try {
        snapshot_into(fs, join(dir, entry.name), name, true, seen);
      } catch (const Error& error) {
        if (error.code() != Errc::not_found) throw;  // removed while listed
      }
    }
  }
}

Snapshot snapshot(Fs& fs, const std::string& dir, bool recursive) {
  Snapshot seen;
  snapshot_into(fs, dir, "", recursive, seen);
  return seen;
}

// envd's FilesystemEvents between two listings.
json::array changes(const Snapshot& before, const Snapshot& after) {
  json::array events;
  auto add = [&](const std::string& name, const char* type) { events.push_back(json::object{{"name", name}, {"type", type}}); };
  for (const auto& [name, now] : after) {
    auto was = before.find(name);
    if (was == before.end()) {
      add(name, "EVENT_TYPE_CREATE");
      if (now.type == FileType::regular && now.size > 0) add(name, "EVENT_TYPE_WRITE");
    } else if (was->second.type != now.type) {
      add(name, "EVENT_TYPE_REMOVE");
      add(name, "EVENT_TYPE_CREATE");
    } else if (was->second.size != now.size || was->second.mtime != now.mtime) {
      add(name, "EVENT_TYPE_WRITE");
    } else if (was->second.mode != now.mode) {
      add(name, "EVENT_TYPE_CHMOD");
    }
  }
  for (const auto& [name, was] : before)
    if (!after.count(name)) add(name, "EVENT_TYPE_REMOVE");
  return events;
}

// The polling watchers (CreateWatcher / GetWatcherEvents / RemoveWatcher), by id.
class Watchers {
 public:
  struct Watcher {
    std::string sandbox_id;
    std::string path;
    bool recursive = false;
    Snapshot last;
  };
  std::string add(Watcher watcher) {
    std::lock_guard lock(mutex_);
    std::string id;
    static const char* hex = "0123456789abcdef";
    for (int i = 0; i < 16; ++i) id += hex[random_() % 16];
    watchers_[id] = std::move(watcher);
    return id;
  }
  // Runs `body` on the watcher (one call at a time); Errc::not_found for an unknown id.
  template <class Body>
  auto with(const std::string& sandbox_id, const std::string& id, Body body) {
    std::lock_guard lock(mutex_);
    auto found = watchers_.find(id);
    if (found == watchers_.end() || found->second.sandbox_id != sandbox_id)
      throw Error(Errc::not_found, "no watcher '" + id + "' in sandbox " + sandbox_id);
    return body(found->second);
  }
  void remove(const std::string& sandbox_id, const std::string& id) {
    std::lock_guard lock(mutex_);
    auto found = watchers_.find(id);
    if (found == watchers_.end() || found->second.sandbox_id != sandbox_id)
      throw Error(Errc::not_found, "no watcher '" + id + "' in sandbox " + sandbox_id);
    watchers_.erase(found);
  }

 private:
  std::mutex mutex_;
  std::random_device random_;
  std::map<std::string, Watcher> watchers_;
};

void require_directory(Fs& fs, const std::string& path) {
  if (fs.stat(path).type != FileType::directory) throw Error(Errc::invalid_argument, "path '" + path + "' is not a directory");
}

void watch_dir(E2b& e2b, Context& context, ServerStream& stream) {
  OwnedSandbox owned = e2b.envd_sandbox(context);
  const Caps::Slot streaming = e2b.service().caps().take_stream(context.caller);  // 429 past a stream cap
  const std::string path = resolve_path(string_field(stream.request(), "path"), E2b::envd_user(context));
  const bool recursive = bool_field(stream.request(), "recursive");
  // fs() at each poll, never kept: a sandbox removed meanwhile then fails with Errc::state.
  require_directory(owned.handle->fs(), path);
  const auto deadline = connect_timeout(context);
  const auto started = std::chrono::steady_clock::now();
  Snapshot last = snapshot(owned.handle->fs(), path, recursive);
  stream.send(json::object{{"start", json::object{}}});
  auto quiet_since = std::chrono::steady_clock::now();
  // Ends when the client goes away (a send fails), the deadline passes, or the directory goes.
  for (;;) {
    std::this_thread::sleep_for(kPollInterval);
    if (deadline && std::chrono::steady_clock::now() - started >= *deadline) return;
    Snapshot now;
    try {
      now = snapshot(owned.handle->fs(), path, recursive);
    } catch (const Error& error) {
      if (error.code() == Errc::not_found) throw Error(Errc::not_found, "the watched directory " + path + " was removed");
      throw;
    }
    json::array events = changes(last, now);
    last = std::move(now);
    for (json::value& change : events) stream.send(json::object{{"filesystem", std::move(change)}});
    if (!events.empty()) {
      quiet_since = std::chrono::steady_clock::now();
    } else if (std::chrono::steady_clock::now() - quiet_since >= kWatchKeepAlive) {
      stream.send(json::object{{"keepalive", json::object{}}});
      quiet_since = std::chrono::steady_clock::now();
    }
  }
}

}  // namespace

void add_filesystem_routes(Router& router, const std::shared_ptr<E2b>& e2b) {
  const std::string base = "/e2b/envd/filesystem.Filesystem/";
  // A unary call on the sandbox's Fs: `body` gets the request, the Fs and the user.
  auto unary = [&](const char* method, std::function<json::object(const json::object&, Fs&, const std::string&)> body) {
    router.add("POST", base + method, unary_handler([e2b, body = std::move(body)](Context& context) {
                 OwnedSandbox owned = e2b->envd_sandbox(context);
                 const json::object message = read_unary(context);
                 answer_unary(context, body(message, owned.handle->fs(), E2b::envd_user(context)));
               }), true);
  };
  unary("Stat", [](const json::object& message, Fs& fs, const std::string& user) {
    const std::string path = resolve_path(string_field(message, "path"), user);
    return json::object{{"entry", entry_info(path, fs.stat(path))}};
  });
  router.add("POST", base + "MakeDir", unary_handler([e2b](Context& context) {
               OwnedSandbox owned = e2b->envd_sandbox(context);
               const json::object message = read_unary(context);
               const std::string user = E2b::envd_user(context);
               const std::string path = resolve_path(string_field(message, "path"), user);
               Fs& fs = owned.handle->fs();
               if (fs.exists(path)) throw Error(Errc::already_exists, "path '" + path + "' already exists");
               make_owned_directories(*owned.handle, path, user);
               answer_unary(context, json::object{{"entry", entry_info(path, fs.stat(path))}});
             }), true);
  unary("Move", [](const json::object& message, Fs& fs, const std::string& user) {
    const std::string from = resolve_path(string_field(message, "source"), user);
    const std::string to = resolve_path(string_field(message, "destination"), user);
    fs.rename(from, to);
    return json::object{{"entry", entry_info(to, fs.stat(to))}};
  });
  unary("ListDir", [](const json::object& message, Fs& fs, const std::string& user) {
    const std::string path = resolve_path(string_field(message, "path"), user);
    const std::int64_t depth = integer_field(message, "depth").value_or(1);
    if (depth < 0 || depth > kMaxDepth)
      throw Error(Errc::invalid_argument, "field 'depth': expected 1 to " + std::to_string(kMaxDepth) + ", got " + std::to_string(depth));
    require_directory(fs, path);
    json::array entries;
    list_tree(fs, path, std::max<std::int64_t>(depth, 1), entries);
    return json::object{{"entries", std::move(entries)}};
  });
  unary("Remove", [](const json::object& message, Fs& fs, const std::string& user) {
    fs.remove(resolve_path(string_field(message, "path"), user), /*recursive=*/true);
    return json::object{};
  });
  router.add("POST", base + "WatchDir", server_stream_handler([e2b](Context& context, ServerStream& stream) {
               watch_dir(*e2b, context, stream);
             }), true);

  auto watchers = std::make_shared<Watchers>();
  router.add("POST", base + "CreateWatcher", unary_handler([e2b, watchers](Context& context) {
               OwnedSandbox owned = e2b->envd_sandbox(context);
               const json::object message = read_unary(context);
               Watchers::Watcher watcher;
               watcher.sandbox_id = owned.handle->id();
               watcher.path = resolve_path(string_field(message, "path"), E2b::envd_user(context));
               watcher.recursive = bool_field(message, "recursive");
               require_directory(owned.handle->fs(), watcher.path);
               watcher.last = snapshot(owned.handle->fs(), watcher.path, watcher.recursive);
               answer_unary(context, json::object{{"watcherId", watchers->add(std::move(watcher))}});
             }), true);
  router.add("POST", base + "GetWatcherEvents", unary_handler([e2b, watchers](Context& context) {
               OwnedSandbox owned = e2b->envd_sandbox(context);
               const json::object message = read_unary(context);
               json::array events = watchers->with(owned.handle->id(), string_field(message, "watcherId"), [&](Watchers::Watcher& watcher) {
                 Snapshot now = snapshot(owned.handle->fs(), watcher.path, watcher.recursive);
                 json::array found = changes(watcher.last, now);
                 watcher.last = std::move(now);
                 return found;
               });
               answer_unary(context, json::object{{"events", std::move(events)}});
             }), true);
  router.add("POST", base + "RemoveWatcher", unary_handler([e2b, watchers](Context& context) {
               OwnedSandbox owned = e2b->envd_sandbox(context);
               const json::object message = read_unary(context);
               watchers->remove(owned.handle->id(), string_field(message, "watcherId"));
               answer_unary(context, json::object{});
             }), true);
}

}  // namespace hutch::server::e2b
