// What the verbs print: Boost.JSON documents for --json, aligned tables and "key: value"
// lines for people. Everything here writes to stdout only.
#pragma once

#include <hutch/types.hpp>

#include "values_json.hpp"

#include <boost/json.hpp>

#include <chrono>
#include <string>
#include <vector>

namespace hutch::cli {

// Capabilities, Stats, SnapshotInfo, MainCommandInfo, ImageDefaults: the objects the service
// returns too (core/json_io).
using json_io::format_time;
using json_io::to_json;
// The spec for people: limits in one object, mount kinds by name, each mount's --mount text.
boost::json::object to_json(const SandboxSpec& spec);
boost::json::object to_json(const SandboxInfo& info);  // with its spec as above

// "sh -c 'serve' (pid 7, started 2026-...Z): exited with 3 at 2026-...Z"
std::string describe(const MainCommandInfo& main);
// argv as a shell would read it back: arguments with blanks or quotes in single quotes.
std::string quote_command(const std::vector<std::string>& argv);


// One JSON document on one line.
void print_json(const boost::json::value& document);

// Columns padded to the widest cell; the first row is the header.
void print_table(const std::vector<std::vector<std::string>>& rows);

// "key: value" lines, keys aligned.
void print_fields(const std::vector<std::pair<std::string, std::string>>& fields);

}  // namespace hutch::cli
