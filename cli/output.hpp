// What the verbs print: Boost.JSON documents for --json, aligned tables and "key: value"
// lines for people. Everything here writes to stdout only.
#pragma once

#include <hutch/types.hpp>

#include <boost/json.hpp>

#include <chrono>
#include <string>
#include <vector>

namespace hutch::cli {

boost::json::object to_json(const Capabilities& capabilities);
boost::json::object to_json(const SandboxSpec& spec);
boost::json::object to_json(const SandboxInfo& info);  // with its spec
boost::json::object to_json(const Stats& stats);
boost::json::object to_json(const SnapshotInfo& snapshot);
boost::json::object to_json(const MainCommandInfo& main);
boost::json::object to_json(const ImageDefaults& defaults);

// "sh -c 'serve' (pid 7, started 2026-...Z): exited with 3 at 2026-...Z"
std::string describe(const MainCommandInfo& main);
// argv as a shell would read it back: arguments with blanks or quotes in single quotes.
std::string quote_command(const std::vector<std::string>& argv);

// "2026-11-22T07:00:00Z"
std::string format_time(std::chrono::system_clock::time_point time);
// "fork snapshot pause ...; network: none host; mounts: volume bind"

// One JSON document on one line.
void print_json(const boost::json::value& document);

// Columns padded to the widest cell; the first row is the header.
void print_table(const std::vector<std::vector<std::string>>& rows);

// "key: value" lines, keys aligned.
void print_fields(const std::vector<std::pair<std::string, std::string>>& fields);

}  // namespace hutch::cli
