// The fake backend's state on disk, so a sandbox created by one process can be used and
// removed by another (the CLI does that):
//   <root>/sandboxes/<id>/spec.json   the record below, spec via <hutch/spec_json.hpp> (written
//                                     last, replaced atomically)
//   <root>/sandboxes/<id>/files/      the tree its Fs serves
//   <root>/sandboxes/<id>/active      its mtime is the last exec (for idle_timeout)
//   <root>/snapshots/<id>/snapshot.json and files/
#pragma once

#include <hutch/types.hpp>

#include <chrono>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

namespace hutch::fake {

struct SandboxRecord {
  std::string id;
  SandboxSpec spec;  // as created, with the fake's defaults filled in, without hutch.* labels
  Labels labels;     // spec.labels plus the hutch.* ones
  std::chrono::system_clock::time_point created{};
  bool paused = false;
  bool stopped = false;  // Handle::stop: its files kept, no command runs until Handle::start
  // Its lifetimes (from the spec, changed by Handle::set_lifetime); 0: none. The fake holds
  // them by judging them whenever it is asked (info, list, exec).
  std::int64_t ttl_deadline_ms = 0;  // unix epoch
  std::int64_t idle_timeout_ms = 0;
};

struct SnapshotRecord {
  SnapshotInfo info;
  std::string image;  // of the source sandbox
};

class Store {
 public:
  explicit Store(std::filesystem::path root);

  const std::filesystem::path& root() const { return root_; }
  std::filesystem::path files_dir(const std::string& sandbox_id) const;

  // A fresh id for a sandbox or a snapshot ("fake-" + 12 hex digits).
  static std::string new_id(const std::string& prefix);

  // Makes the directory and an empty files/ tree, then writes the record.
  void create(const SandboxRecord& record);
  // nullopt when there is no such sandbox (also for ids that are not fake ids at all).
  std::optional<SandboxRecord> load(const std::string& id) const;
  void save(const SandboxRecord& record);
  // Returns false when there was nothing to remove.
  bool remove(const std::string& id);
  std::vector<std::string> ids() const;

  void mark_active(const std::string& id);
  std::chrono::system_clock::time_point last_active(const std::string& id) const;

  // Copies the files of `sandbox_id` into a new snapshot.
  SnapshotRecord create_snapshot(const std::string& sandbox_id, const std::string& image,
                                 const std::string& label);
  std::optional<SnapshotRecord> load_snapshot(const std::string& id) const;
  std::vector<SnapshotRecord> snapshots() const;
  bool remove_snapshot(const std::string& id);
  // Replaces the files of `sandbox_id` with those of the snapshot.
  void restore_files(const std::string& snapshot_id, const std::string& sandbox_id);

  std::filesystem::path sandbox_dir(const std::string& id) const;

 private:
  std::filesystem::path snapshot_dir(const std::string& id) const;

  std::filesystem::path root_;
};

// Copies a directory tree exactly (modes kept, symlinks copied as symlinks).
void copy_directory_tree(const std::filesystem::path& from, const std::filesystem::path& to);

}  // namespace hutch::fake
