// The JSON form of hutch's value types, shared by every module that writes them: the CLI's
// --json output and the service's responses (`hutch serve`) are the same objects, written here
// once. A static library (hutch_json_io), linked privately into each such module with its own
// copy of Boost.JSON; see object_reader.hpp for why JSON values never cross a module.
#pragma once

#include <hutch/fs.hpp>
#include <hutch/types.hpp>

#include <boost/json.hpp>

#include <chrono>
#include <map>
#include <optional>
#include <vector>
#include <string>

namespace hutch::json_io {

// Small pieces the objects below are made of, for other writers (the CLI's spec for people).
boost::json::array string_array(const std::vector<std::string>& items);
boost::json::object to_json(const std::map<std::string, std::string>& map);  // env, labels
template <class T>
boost::json::value optional_json(const std::optional<T>& value) {
  if (!value) return nullptr;
  return boost::json::value_from(*value);
}

// "2026-11-22T07:00:00Z" (UTC, whole seconds).
std::string format_time(std::chrono::system_clock::time_point time);

boost::json::object to_json(const Capabilities& capabilities);
boost::json::object to_json(const Stats& stats);
// {"sandbox_port","host_address","host_port","protocol","address","url"}: address and url
// (null for udp) are where a client connects (hutch::connect_address, hutch::http_url).
boost::json::object to_json(const PortBinding& binding);
boost::json::object to_json(const SnapshotInfo& snapshot);
boost::json::object to_json(const MainCommandInfo& main);
boost::json::object to_json(const ImageDefaults& defaults);  // as hutch::defaults_to_json writes it
// {"id","backend","image","state","created","expires_at","labels","spec","main_command",
// "defaults"}; `spec` is put in as given, since the CLI shows a spec for people and the
// service the form hutch::spec_to_json writes (see spec_json below).
boost::json::object to_json(const SandboxInfo& info, boost::json::value spec);

// {"type": "regular"|"directory"|"symlink"|"other", "size", "mode", "uid", "gid",
//  "mtime": "2026-...Z", "link_target"}; a DirEntry adds "name".
boost::json::object to_json(const FileStat& stat);
boost::json::object to_json(const DirEntry& entry);
const char* to_string(FileType type);

// The spec as hutch::spec_to_json writes it, as a JSON value.
boost::json::value spec_json(const SandboxSpec& spec);

// The inverses (values_from_json.cpp), for the remote backend reading the service's answers:
// a document not of this form is Errc::backend naming the field. Absent fields keep the
// type's defaults.
std::chrono::system_clock::time_point parse_time(const std::string& text, const std::string& field);
Capabilities capabilities_from_json(const boost::json::value& document);
MainCommandInfo main_command_from_json(const boost::json::value& document);
SandboxInfo sandbox_info_from_json(const boost::json::value& document);
Stats stats_from_json(const boost::json::value& document);
PortBinding port_binding_from_json(const boost::json::value& document);
SnapshotInfo snapshot_from_json(const boost::json::value& document);
FileStat file_stat_from_json(const boost::json::value& document);
DirEntry dir_entry_from_json(const boost::json::value& document);

}  // namespace hutch::json_io
