#include "options.hpp"

#include <hutch/error.hpp>
#include <hutch/spec_config.hpp>

#include <algorithm>

namespace hutch::server {

namespace {

PoolOptions read_pool(const std::string& name, const ConfigTable& table) {
  PoolOptions pool;
  pool.name = name;
  if (auto size = table.get_int("size", 0, 1024)) pool.size = static_cast<std::size_t>(*size);
  if (auto age = table.get_duration("max_age")) {
    if (age->count() <= 0) table.fail("max_age", "expected a duration greater than zero");
    pool.max_age = *age;
  }
  if (auto backend = table.get_string("backend")) {
    if (backend->empty()) table.fail("backend", "expected a backend name, got \"\"");
    pool.backend = *backend;
  }
  read_spec_keys(table, pool.spec);
  table.reject_unknown_keys();
  return pool;
}

// One [serve.e2b.templates] entry: `ID = "IMAGE"`, or `ID = { pool = "NAME" }` naming a
// [serve.pools.NAME] (read before) whose ready sandboxes the template's creates hand out.
E2bTemplate read_e2b_template(const ConfigTable& templates, const std::string& id, const std::vector<PoolOptions>& pools) {
  const std::string expected = "expected the image of E2B template '" + id + "' or { pool = \"NAME\" }";
  std::optional<ConfigTable> table;
  E2bTemplate chosen;
  try {
    if (auto image = templates.get_string(id)) chosen.image = *image;
  } catch (const Error&) {
    // Not a string: the table form (toml++'s node type is not part of ConfigTable).
    try {
      table = templates.get_table(id);
    } catch (const Error&) {
      templates.fail(id, expected);
    }
  }
  if (!table) {
    if (chosen.image.empty()) templates.fail(id, expected);
    return chosen;
  }
  auto pool = table->get_string("pool");
  table->reject_unknown_keys();
  if (!pool || pool->empty()) templates.fail(id, expected);
  const bool known = std::any_of(pools.begin(), pools.end(), [&](const PoolOptions& options) { return options.name == *pool; });
  if (!known) table->fail("pool", "no [serve.pools." + *pool + "] in this configuration");
  chosen.pool = *pool;
  return chosen;
}

}  // namespace

ServeOptions read_serve_options(const ConfigTable& table) {
  ServeOptions options;
  if (auto listen = table.get_string_array("listen")) {
    for (const std::string& text : *listen) {
      try {
        options.listen.push_back(parse_listen_address(text));
      } catch (const Error& error) {
        table.fail("listen", error.what());
      }
    }
  }
  options.tokens_file = table.get_string("tokens_file");
  options.tls = read_tls_options(table);
  options.caps = read_cap_options(table);
  if (auto timeout = table.get_duration("header_timeout")) options.limits.header_timeout = *timeout;
  if (auto timeout = table.get_duration("idle_timeout")) options.limits.idle_timeout = *timeout;
  if (auto limit = table.get_size("body_limit")) options.json_body_limit = *limit;
  if (auto workers = table.get_int("workers", 1, 4096)) options.workers = static_cast<unsigned>(*workers);
  if (auto keepalive = table.get_duration("events_keepalive")) {
    if (keepalive->count() <= 0) table.fail("events_keepalive", "expected a duration greater than zero");
    options.events_keepalive = std::chrono::duration_cast<std::chrono::milliseconds>(*keepalive);
  }
  if (auto pools = table.get_table("pools")) {
    for (const std::string& name : pools->keys()) {
      auto pool = pools->get_table(name);
      if (!pool) pools->fail(name, "expected a table [serve.pools." + name + "]");
      options.pools.push_back(read_pool(name, *pool));
    }
    pools->reject_unknown_keys();
  }
  if (auto e2b = table.get_table("e2b")) {
    if (auto domain = e2b->get_string("domain")) {
      if (domain->empty() || domain->find_first_of(":/ ") != std::string::npos || domain->front() == '.')
        e2b->fail("domain", "expected a host name without port or scheme (sandbox ports are served at PORT-ID.<domain>)");
      options.e2b.domain = *domain;
    }
    if (auto templates = e2b->get_table("templates")) {
      for (const std::string& id : templates->keys())
        options.e2b.templates[id] = read_e2b_template(*templates, id, options.pools);
      templates->reject_unknown_keys();
    }
    e2b->reject_unknown_keys();
  }
  table.reject_unknown_keys();
  return options;
}

}  // namespace hutch::server
