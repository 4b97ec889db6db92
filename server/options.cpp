#include "options.hpp"

#include <hutch/error.hpp>

namespace hutch::server {

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
  table.reject_unknown_keys();
  return options;
}

}  // namespace hutch::server
