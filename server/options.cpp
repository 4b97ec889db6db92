#include "options.hpp"

#include <hutch/error.hpp>
#include <hutch/spec_config.hpp>

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
  if (auto timeout = table.get_duration("header_timeout")) options.limits.header_timeout = *timeout;
  if (auto timeout = table.get_duration("idle_timeout")) options.limits.idle_timeout = *timeout;
  if (auto limit = table.get_size("body_limit")) options.json_body_limit = *limit;
  if (auto workers = table.get_int("workers", 1, 4096)) options.workers = static_cast<unsigned>(*workers);
  if (auto e2b = table.get_table("e2b")) {
    if (auto templates = e2b->get_table("templates")) {
      for (const std::string& id : templates->keys()) {
        auto image = templates->get_string(id);
        if (!image || image->empty()) templates->fail(id, "expected the image of E2B template '" + id + "'");
        options.e2b.templates[id] = *image;
      }
      templates->reject_unknown_keys();
    }
    e2b->reject_unknown_keys();
  }
  if (auto pools = table.get_table("pools")) {
    for (const std::string& name : pools->keys()) {
      auto pool = pools->get_table(name);
      if (!pool) pools->fail(name, "expected a table [serve.pools." + name + "]");
      options.pools.push_back(read_pool(name, *pool));
    }
    pools->reject_unknown_keys();
  }
  table.reject_unknown_keys();
  return options;
}

}  // namespace hutch::server
