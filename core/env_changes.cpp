// Handle::set_env's bookkeeping (see <hutch/env_changes.hpp>).
#include <hutch/env_changes.hpp>
#include <hutch/error.hpp>
#include <hutch/spec.hpp>

#include <boost/json.hpp>

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <fstream>
#include <sstream>

namespace hutch {
namespace json = boost::json;

void validate_env_change(const Env& set, const std::vector<std::string>& unset) {
  SandboxSpec probe;
  probe.env = set;
  for (const auto& key : unset) {
    if (set.count(key) != 0)
      throw Error(Errc::invalid_argument, "env key '" + key + "' is both set and unset");
    probe.env[key];  // checked as a key like the others
  }
  try {
    validate(probe);
  } catch (const Error& e) {
    throw Error(Errc::invalid_argument, std::string("set_env: ") + e.what());
  }
}

void add_env_change(EnvChanges& changes, const Env& set, const std::vector<std::string>& unset) {
  for (const auto& [key, value] : set) {
    changes.set[key] = value;
    std::erase(changes.unset, key);
  }
  for (const auto& key : unset) {
    changes.set.erase(key);
    if (std::find(changes.unset.begin(), changes.unset.end(), key) == changes.unset.end()) changes.unset.push_back(key);
  }
  std::sort(changes.unset.begin(), changes.unset.end());
}

Env apply_env_changes(Env env, const EnvChanges& changes) {
  for (const auto& key : changes.unset) env.erase(key);
  for (const auto& [key, value] : changes.set) env[key] = value;
  return env;
}

std::vector<std::string> env_change_entries(const EnvChanges& changes) {
  std::vector<std::string> entries;
  for (const auto& key : changes.unset) entries.push_back(key);
  for (const auto& [key, value] : changes.set) entries.push_back(key + "=" + value);
  return entries;
}

namespace {

std::string to_json(const EnvChanges& changes) {
  json::object set;
  for (const auto& [key, value] : changes.set) set[key] = value;
  json::array unset;
  for (const auto& key : changes.unset) unset.emplace_back(key);
  return json::serialize(json::object{{"set", std::move(set)}, {"unset", std::move(unset)}});
}

EnvChanges from_json(const std::string& text) {
  try {
    const auto parsed = json::parse(text);
    const auto& object = parsed.as_object();
    EnvChanges changes;
    for (const auto& [key, value] : object.at("set").as_object())
      changes.set[std::string(key)] = std::string(value.as_string());
    for (const auto& key : object.at("unset").as_array()) changes.unset.emplace_back(key.as_string());
    return changes;
  } catch (const std::exception& e) {
    throw Error(Errc::backend, std::string("not a record of set_env changes (JSON): ") + e.what());
  }
}

// An fd closed with the object.
struct LockFile {
  int fd;
  ~LockFile() {
    if (fd >= 0) ::close(fd);
  }
};

}  // namespace

EnvChanges read_env_changes(const std::filesystem::path& file) {
  std::ifstream in(file, std::ios::binary);
  if (!in) return {};
  std::ostringstream text;
  text << in.rdbuf();
  try {
    return from_json(text.str());
  } catch (const Error& e) {
    throw Error(Errc::backend, file.string() + ": " + e.what());
  }
}

EnvChanges update_env_changes(const std::filesystem::path& file, const Env& set, const std::vector<std::string>& unset) {
  const std::string lock_path = file.string() + ".lock";
  LockFile lock{::open(lock_path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600)};
  if (lock.fd < 0 || ::flock(lock.fd, LOCK_EX) != 0) throw_system_error("set_env: lock " + lock_path, errno);
  EnvChanges changes = read_env_changes(file);
  add_env_change(changes, set, unset);
  const std::string temporary = file.string() + ".tmp";
  {
    std::ofstream out(temporary, std::ios::binary | std::ios::trunc);
    out << to_json(changes);
    if (!out.flush()) throw Error(Errc::backend, "set_env: cannot write " + temporary);
  }
  if (::rename(temporary.c_str(), file.c_str()) != 0) throw_system_error("set_env: replace " + file.string(), errno);
  return changes;
}

}  // namespace hutch
