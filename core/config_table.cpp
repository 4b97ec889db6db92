// ConfigTable: typed, position-aware reads of a TOML table (toml++ stays behind the pimpl).
// Every key a getter asks for — present or not — is recorded, so reject_unknown_keys can
// name a misspelt key and suggest the known one it is closest to.
#include <hutch/config.hpp>
#include <hutch/error.hpp>
#include <hutch/units.hpp>

#include <toml++/toml.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

namespace hutch {
namespace {

// One parsed file, shared by every view of its tables.
struct Document {
  toml::table root;
  std::string source_name;
  std::mutex mutex;
  // Keys asked for, per table; shared so that copies and re-fetched views agree.
  std::map<const toml::table*, std::set<std::string>> asked;
};

std::string type_name(toml::node_type type) {
  switch (type) {
    case toml::node_type::string: return "string";
    case toml::node_type::integer: return "integer";
    case toml::node_type::floating_point: return "floating-point number";
    case toml::node_type::boolean: return "boolean";
    case toml::node_type::table: return "table";
    case toml::node_type::array: return "array";
    case toml::node_type::date: return "date";
    case toml::node_type::time: return "time";
    case toml::node_type::date_time: return "date-time";
    case toml::node_type::none: break;
  }
  return "nothing";
}

// The value as the user wrote it, for "got ..." in messages: strings quoted, numbers and
// booleans as TOML, anything bigger by its type.
std::string describe(const toml::node& node) {
  if (auto s = node.as_string()) return "\"" + s->get() + "\"";
  if (auto i = node.as_integer()) return std::to_string(i->get());
  if (auto b = node.as_boolean()) return b->get() ? "true" : "false";
  if (auto f = node.as_floating_point()) {
    std::ostringstream out;
    out << f->get();
    return out.str();
  }
  return type_name(node.type());
}

std::string format_number(double value) {
  std::ostringstream out;
  out << value;
  return out.str();
}

std::string position(const std::string& source_name, const toml::source_position& begin) {
  if (!begin) return source_name;
  return source_name + ":" + std::to_string(begin.line) + ":" + std::to_string(begin.column);
}

// Optimal string alignment distance: edits, with a swap of neighbours counting as one.
std::size_t edit_distance(const std::string& a, const std::string& b) {
  std::vector<std::vector<std::size_t>> d(a.size() + 1, std::vector<std::size_t>(b.size() + 1));
  for (std::size_t i = 0; i <= a.size(); ++i) d[i][0] = i;
  for (std::size_t j = 0; j <= b.size(); ++j) d[0][j] = j;
  for (std::size_t i = 1; i <= a.size(); ++i) {
    for (std::size_t j = 1; j <= b.size(); ++j) {
      std::size_t cost = a[i - 1] == b[j - 1] ? 0 : 1;
      d[i][j] = std::min({d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost});
      if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1])
        d[i][j] = std::min(d[i][j], d[i - 2][j - 2] + 1);
    }
  }
  return d[a.size()][b.size()];
}

// The known key closest to `key`, if it is close enough to be a likely typo.
std::optional<std::string> closest(const std::string& key, const std::set<std::string>& known) {
  std::optional<std::string> best;
  std::size_t best_distance = std::max<std::size_t>(1, std::min<std::size_t>(3, key.size() / 3));
  for (const auto& candidate : known) {
    std::size_t distance = edit_distance(key, candidate);
    if (distance <= best_distance) {
      if (!best || distance < best_distance) best = candidate;
      best_distance = distance;
    }
  }
  return best;
}

}  // namespace

struct ConfigTable::Impl {
  std::shared_ptr<Document> document;
  const toml::table* table = nullptr;
  std::string path;

  // Records `key` as known and returns its node, or nullptr when absent.
  const toml::node* ask(const std::string& key) const {
    {
      std::lock_guard lock(document->mutex);
      document->asked[table].insert(key);
    }
    return table->get(key);
  }

  static std::shared_ptr<Impl> root_of(std::shared_ptr<Document> document) {
    auto impl = std::make_shared<Impl>();
    impl->table = &document->root;
    impl->document = std::move(document);
    return impl;
  }

  std::string dotted(const std::string& key) const {
    if (key.empty()) return path;
    return path.empty() ? key : path + "." + key;
  }
};

ConfigTable::ConfigTable() : ConfigTable([] {
  auto document = std::make_shared<Document>();
  document->source_name = "<built-in>";
  return Impl::root_of(std::move(document));
}()) {}

ConfigTable::ConfigTable(std::shared_ptr<Impl> impl) : impl_(std::move(impl)) {}
ConfigTable::~ConfigTable() = default;
ConfigTable::ConfigTable(const ConfigTable&) = default;
ConfigTable& ConfigTable::operator=(const ConfigTable&) = default;

ConfigTable ConfigTable::parse(const std::string& text, const std::string& source_name) {
  auto document = std::make_shared<Document>();
  document->source_name = source_name;
  try {
    document->root = toml::parse(text, std::string_view(source_name));
  } catch (const toml::parse_error& e) {
    throw Error(Errc::config,
                position(source_name, e.source().begin) + ": " + std::string(e.description()));
  }
  return ConfigTable(Impl::root_of(std::move(document)));
}

bool ConfigTable::contains(const std::string& key) const { return impl_->table->contains(key); }

bool ConfigTable::empty() const { return impl_->table->empty(); }

std::string ConfigTable::where(const std::string& key) const {
  const toml::node* node = key.empty() ? impl_->table : impl_->table->get(key);
  if (node == nullptr) node = impl_->table;
  return position(impl_->document->source_name, node->source().begin);
}

const std::string& ConfigTable::path() const { return impl_->path; }

void ConfigTable::fail(const std::string& key, const std::string& message) const {
  std::string name = impl_->dotted(key);
  throw Error(Errc::config, where(key) + ": " + (name.empty() ? "" : name + ": ") + message);
}

std::optional<std::string> ConfigTable::get_string(const std::string& key) const {
  const toml::node* node = impl_->ask(key);
  if (node == nullptr) return std::nullopt;
  if (auto value = node->as_string()) return value->get();
  fail(key, "expected a string, got " + type_name(node->type()));
}

std::optional<bool> ConfigTable::get_bool(const std::string& key) const {
  const toml::node* node = impl_->ask(key);
  if (node == nullptr) return std::nullopt;
  if (auto value = node->as_boolean()) return value->get();
  fail(key, "expected true or false, got " + type_name(node->type()));
}

std::optional<std::int64_t> ConfigTable::get_int(const std::string& key, std::int64_t min,
                                                 std::int64_t max) const {
  const toml::node* node = impl_->ask(key);
  if (node == nullptr) return std::nullopt;
  const std::string expected =
      "expected an integer from " + std::to_string(min) + " to " + std::to_string(max);
  auto value = node->as_integer();
  if (value == nullptr) fail(key, expected + ", got " + type_name(node->type()));
  if (value->get() < min || value->get() > max) fail(key, expected + ", got " + describe(*node));
  return value->get();
}

std::optional<double> ConfigTable::get_double(const std::string& key, double min,
                                              double max) const {
  const toml::node* node = impl_->ask(key);
  if (node == nullptr) return std::nullopt;
  const std::string expected =
      "expected a number from " + format_number(min) + " to " + format_number(max);
  double value;
  if (auto f = node->as_floating_point()) value = f->get();
  else if (auto i = node->as_integer()) value = static_cast<double>(i->get());
  else fail(key, expected + ", got " + type_name(node->type()));
  if (!std::isfinite(value) || value < min || value > max)
    fail(key, expected + ", got " + describe(*node));
  return value;
}

std::optional<std::uint64_t> ConfigTable::get_size(const std::string& key) const {
  const toml::node* node = impl_->ask(key);
  if (node == nullptr) return std::nullopt;
  if (auto i = node->as_integer()) {
    if (i->get() < 0) fail(key, "expected a size, which cannot be negative, got " + describe(*node));
    return static_cast<std::uint64_t>(i->get());
  }
  if (auto s = node->as_string()) {
    try {
      return parse_size(s->get());
    } catch (const Error&) {
      fail(key, "expected a size like \"512m\", \"64k\" or \"1.5g\", got " + describe(*node));
    }
  }
  fail(key, "expected a size like \"512m\" or an integer number of bytes, got " +
                type_name(node->type()));
}

std::optional<Duration> ConfigTable::get_duration(const std::string& key) const {
  const toml::node* node = impl_->ask(key);
  if (node == nullptr) return std::nullopt;
  if (auto i = node->as_integer()) {
    constexpr std::int64_t kMaxSeconds = std::numeric_limits<Duration::rep>::max() / 1000;
    if (i->get() < 0 || i->get() > kMaxSeconds)
      fail(key, "expected a number of seconds from 0 to " + std::to_string(kMaxSeconds) +
                    ", got " + describe(*node));
    return std::chrono::duration_cast<Duration>(std::chrono::seconds(i->get()));
  }
  if (auto s = node->as_string()) {
    try {
      return parse_duration(s->get());
    } catch (const Error&) {
      fail(key, "expected a duration like \"30s\", \"10m\" or \"1h30m\", got " + describe(*node));
    }
  }
  fail(key, "expected a duration like \"30s\" or an integer number of seconds, got " +
                type_name(node->type()));
}

std::optional<std::vector<std::string>> ConfigTable::get_string_array(const std::string& key) const {
  const toml::node* node = impl_->ask(key);
  if (node == nullptr) return std::nullopt;
  auto array = node->as_array();
  if (array == nullptr) fail(key, "expected an array of strings, got " + type_name(node->type()));
  std::vector<std::string> out;
  for (std::size_t i = 0; i < array->size(); ++i) {
    const toml::node& element = *array->get(i);
    auto value = element.as_string();
    if (value == nullptr) {
      throw Error(Errc::config, position(impl_->document->source_name, element.source().begin) +
                                    ": " + impl_->dotted(key) + "[" + std::to_string(i) +
                                    "]: expected a string, got " + type_name(element.type()));
    }
    out.push_back(value->get());
  }
  return out;
}

std::optional<ConfigTable> ConfigTable::get_table(const std::string& key) const {
  const toml::node* node = impl_->ask(key);
  if (node == nullptr) return std::nullopt;
  auto table = node->as_table();
  if (table == nullptr) fail(key, "expected a table, got " + type_name(node->type()));
  auto impl = std::make_shared<Impl>();
  impl->document = impl_->document;
  impl->table = table;
  impl->path = impl_->dotted(key);
  return ConfigTable(std::move(impl));
}

namespace {

// The keys of `table` with their positions, in the order they appear in the file (toml++
// keeps them sorted by name).
std::vector<std::pair<std::string, toml::source_position>> keys_in_file_order(
    const toml::table& table) {
  std::vector<std::pair<std::string, toml::source_position>> keys;
  for (auto&& [key, node] : table) keys.emplace_back(std::string(key.str()), key.source().begin);
  std::stable_sort(keys.begin(), keys.end(), [](const auto& a, const auto& b) {
    return std::pair(a.second.line, a.second.column) < std::pair(b.second.line, b.second.column);
  });
  return keys;
}

}  // namespace

std::vector<std::string> ConfigTable::keys() const {
  std::vector<std::string> out;
  for (auto& [key, pos] : keys_in_file_order(*impl_->table)) out.push_back(key);
  return out;
}

void ConfigTable::reject_unknown_keys() const {
  std::set<std::string> known;
  {
    std::lock_guard lock(impl_->document->mutex);
    known = impl_->document->asked[impl_->table];
  }
  for (auto& [key, pos] : keys_in_file_order(*impl_->table)) {
    if (known.count(key) != 0) continue;
    bool is_table = impl_->table->get(key)->is_table();
    std::string message = position(impl_->document->source_name, pos) + ": " +
                          impl_->dotted(key) + ": unknown " + (is_table ? "table" : "key");
    if (auto suggestion = closest(key, known)) message += " (did you mean '" + *suggestion + "'?)";
    throw Error(Errc::config, message);
  }
}

}  // namespace hutch
