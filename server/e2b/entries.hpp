// What envd's filesystem service and HTTP routes share: paths as envd resolves them, and
// filesystem.proto's EntryInfo.
#pragma once

#include <hutch/fs.hpp>
#include <hutch/handle.hpp>

#include <boost/json.hpp>

#include <string>
#include <vector>

namespace hutch::server::e2b {

// An absolute path as given; a relative one from the user's home, as envd resolves it.
// Errc::invalid_argument for an empty path.
std::string resolve_path(const std::string& path, const std::string& user);

// filesystem.EntryInfo in Connect's JSON: name, type (FILE_TYPE_*), path, size (a string: an
// int64), mode, permissions ("-rw-r--r--"), owner, group, modifiedTime, symlinkTarget.
boost::json::object entry_info(const std::string& path, const FileStat& stat);

// Creates directory `path` and its missing parents, owned by `user` as envd makes them (the
// backends' Fs creates files as the sandbox's root; a chown in the sandbox gives them over).
void make_owned_directories(Handle& handle, const std::string& path, const std::string& user);
// Gives `paths` to `user` (nothing for root).
void give_to_user(Handle& handle, const std::vector<std::string>& paths, const std::string& user);

// The last component of a path ("/" for the root).
std::string base_name(const std::string& path);

}  // namespace hutch::server::e2b
