#include "store.hpp"

#include <hutch/error.hpp>
#include <hutch/spec_json.hpp>

#include <boost/json.hpp>

#include <algorithm>
#include <fstream>
#include <iomanip>
#include <random>
#include <sstream>
#include <system_error>

namespace hutch::fake {
namespace fs = std::filesystem;
namespace json = boost::json;

namespace {

// Ids come from callers (resume, destroy); only ones we could have made name a directory, so
// "../x" can never reach outside the store.
bool is_valid_id(const std::string& id) {
  if (id.empty() || id.size() > 64) return false;
  for (char c : id)
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-')) return false;
  return true;
}

std::int64_t to_millis(std::chrono::system_clock::time_point time) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(time.time_since_epoch()).count();
}

std::chrono::system_clock::time_point from_millis(std::int64_t millis) {
  return std::chrono::system_clock::time_point(std::chrono::milliseconds(millis));
}

void write_atomically(const fs::path& file, const json::value& value) {
  fs::path temp = file;
  temp += ".tmp";
  {
    std::ofstream out(temp, std::ios::trunc);
    out << json::serialize(value);
    if (!out.flush()) throw Error(Errc::io, "cannot write '" + temp.string() + "'");
  }
  std::error_code ec;
  fs::rename(temp, file, ec);
  if (ec) throw Error(Errc::io, "cannot replace '" + file.string() + "': " + ec.message());
}

std::optional<json::value> read_json(const fs::path& file) {
  std::ifstream in(file);
  if (!in) return std::nullopt;
  std::stringstream text;
  text << in.rdbuf();
  boost::system::error_code ec;
  json::value value = json::parse(text.str(), ec);
  if (ec) throw Error(Errc::io, file.string() + ": malformed JSON: " + ec.message());
  return value;
}

json::object labels_to_json(const Labels& labels) {
  json::object out;
  for (const auto& [key, value] : labels) out[key] = value;
  return out;
}

void make_directories(const fs::path& dir) {
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) throw Error(Errc::io, "cannot create directory '" + dir.string() + "': " + ec.message());
}

std::vector<std::string> subdirectory_names(const fs::path& dir) {
  std::vector<std::string> names;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(dir, ec))
    if (entry.is_directory()) names.push_back(entry.path().filename().string());
  std::sort(names.begin(), names.end());
  return names;
}

}  // namespace

void copy_directory_tree(const fs::path& from, const fs::path& to) {
  std::error_code ec;
  fs::copy(from, to, fs::copy_options::recursive | fs::copy_options::copy_symlinks, ec);
  if (ec)
    throw Error(Errc::io,
                "cannot copy '" + from.string() + "' to '" + to.string() + "': " + ec.message());
}

Store::Store(fs::path root) : root_(std::move(root)) {}

fs::path Store::sandbox_dir(const std::string& id) const { return root_ / "sandboxes" / id; }
fs::path Store::snapshot_dir(const std::string& id) const { return root_ / "snapshots" / id; }
fs::path Store::files_dir(const std::string& id) const { return sandbox_dir(id) / "files"; }

std::string Store::new_id(const std::string& prefix) {
  static thread_local std::mt19937_64 random{std::random_device{}()};
  std::ostringstream id;
  id << prefix << std::hex << std::setw(12) << std::setfill('0')
     << (random() & 0xffffffffffffULL);
  return id.str();
}

void Store::create(const SandboxRecord& record) {
  fs::path dir = sandbox_dir(record.id);
  make_directories(dir.parent_path());
  std::error_code ec;
  if (!fs::create_directory(dir, ec))
    throw Error(Errc::already_exists, "fake sandbox directory '" + dir.string() + "' exists");
  try {
    make_directories(files_dir(record.id) / "tmp");
    std::ofstream(dir / "active").flush();
    save(record);
  } catch (...) {
    fs::remove_all(dir, ec);
    throw;
  }
}

std::optional<SandboxRecord> Store::load(const std::string& id) const {
  if (!is_valid_id(id)) return std::nullopt;
  fs::path file = sandbox_dir(id) / "spec.json";
  auto value = read_json(file);
  if (!value) return std::nullopt;
  try {
    const auto& in = value->as_object();
    SandboxRecord record;
    record.id = std::string(in.at("id").as_string());
    record.spec = hutch::spec_from_json(json::serialize(in.at("spec")));
    for (const auto& [key, label] : in.at("labels").as_object())
      record.labels.emplace(std::string(key), std::string(label.as_string()));
    record.created = from_millis(in.at("created_ms").to_number<std::int64_t>());
    record.paused = in.at("paused").as_bool();
    if (auto* stopped = in.if_contains("stopped")) record.stopped = stopped->as_bool();
    if (auto* v = in.if_contains("ttl_deadline_ms")) record.ttl_deadline_ms = v->to_number<std::int64_t>();
    if (auto* v = in.if_contains("idle_timeout_ms")) record.idle_timeout_ms = v->to_number<std::int64_t>();
    return record;
  } catch (const std::exception& e) {
    throw Error(Errc::io, file.string() + ": malformed sandbox record: " + e.what());
  }
}

void Store::save(const SandboxRecord& record) {
  json::object out;
  out["id"] = record.id;
  out["spec"] = json::parse(hutch::spec_to_json(record.spec));
  out["labels"] = labels_to_json(record.labels);
  out["created_ms"] = to_millis(record.created);
  out["paused"] = record.paused;
  out["stopped"] = record.stopped;
  out["ttl_deadline_ms"] = record.ttl_deadline_ms;
  out["idle_timeout_ms"] = record.idle_timeout_ms;
  write_atomically(sandbox_dir(record.id) / "spec.json", out);
}

bool Store::remove(const std::string& id) {
  if (!is_valid_id(id)) return false;
  fs::path dir = sandbox_dir(id);
  std::error_code ec;
  if (!fs::exists(dir / "spec.json", ec)) return false;
  // The record goes first: from then on every process sees the sandbox as gone.
  fs::remove(dir / "spec.json", ec);
  fs::remove_all(dir, ec);
  if (ec) throw Error(Errc::io, "cannot remove '" + dir.string() + "': " + ec.message());
  return true;
}

std::vector<std::string> Store::ids() const {
  std::vector<std::string> ids;
  std::error_code ec;
  for (auto& name : subdirectory_names(root_ / "sandboxes"))
    if (fs::exists(sandbox_dir(name) / "spec.json", ec)) ids.push_back(std::move(name));
  return ids;
}

void Store::mark_active(const std::string& id) {
  std::error_code ec;
  fs::last_write_time(sandbox_dir(id) / "active", fs::file_time_type::clock::now(), ec);
}

std::chrono::system_clock::time_point Store::last_active(const std::string& id) const {
  std::error_code ec;
  auto time = fs::last_write_time(sandbox_dir(id) / "active", ec);
  if (ec) return {};
  return std::chrono::file_clock::to_sys(time);
}

SnapshotRecord Store::create_snapshot(const std::string& sandbox_id, const std::string& image,
                                      const std::string& label) {
  SnapshotRecord record;
  record.info.id = new_id("fake-snap-");
  record.info.label = label;
  record.info.source_sandbox = sandbox_id;
  record.info.created = std::chrono::system_clock::now();
  record.image = image;

  fs::path dir = snapshot_dir(record.info.id);
  make_directories(dir);
  try {
    copy_directory_tree(files_dir(sandbox_id), dir / "files");
    json::object out;
    out["id"] = record.info.id;
    out["label"] = label;
    out["source_sandbox"] = sandbox_id;
    out["created_ms"] = to_millis(record.info.created);
    out["image"] = image;
    write_atomically(dir / "snapshot.json", out);
  } catch (...) {
    std::error_code ec;
    fs::remove_all(dir, ec);
    throw;
  }
  return record;
}

std::optional<SnapshotRecord> Store::load_snapshot(const std::string& id) const {
  if (!is_valid_id(id)) return std::nullopt;
  fs::path file = snapshot_dir(id) / "snapshot.json";
  auto value = read_json(file);
  if (!value) return std::nullopt;
  try {
    const auto& in = value->as_object();
    SnapshotRecord record;
    record.info.id = std::string(in.at("id").as_string());
    record.info.label = std::string(in.at("label").as_string());
    record.info.source_sandbox = std::string(in.at("source_sandbox").as_string());
    record.info.created = from_millis(in.at("created_ms").to_number<std::int64_t>());
    record.image = std::string(in.at("image").as_string());
    return record;
  } catch (const std::exception& e) {
    throw Error(Errc::io, file.string() + ": malformed snapshot record: " + e.what());
  }
}

std::vector<SnapshotRecord> Store::snapshots() const {
  std::vector<SnapshotRecord> out;
  for (const auto& name : subdirectory_names(root_ / "snapshots"))
    if (auto record = load_snapshot(name)) out.push_back(std::move(*record));
  return out;
}

bool Store::remove_snapshot(const std::string& id) {
  if (!load_snapshot(id)) return false;
  std::error_code ec;
  fs::remove_all(snapshot_dir(id), ec);
  if (ec) throw Error(Errc::io, "cannot remove snapshot '" + id + "': " + ec.message());
  return true;
}

void Store::restore_files(const std::string& snapshot_id, const std::string& sandbox_id) {
  fs::path files = files_dir(sandbox_id);
  std::error_code ec;
  fs::remove_all(files, ec);
  if (ec) throw Error(Errc::io, "cannot clear '" + files.string() + "': " + ec.message());
  copy_directory_tree(snapshot_dir(snapshot_id) / "files", files);
}

}  // namespace hutch::fake
