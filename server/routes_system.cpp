// GET /healthz, GET /v1/openapi.json, GET /v1/backends.
#include "routes.hpp"

#include "values_json.hpp"

#include <hutch/error.hpp>

namespace hutch::server {

// The API document, compiled in from server/openapi.json (openapi_document.cpp, generated).
extern const char* const kOpenApiDocument;

void get_health(Context& context) { respond_json(context, 200, boost::json::object{{"status", "ok"}}); }

void get_openapi(Context& context) { context.exchange.respond(200, "application/json", kOpenApiDocument); }

void get_backends(Context& context) {
  boost::json::array backends;
  for (const auto& [name, backend] : context.service.backends())
    backends.push_back(boost::json::object{{"name", name},
                                           {"default", name == context.service.default_backend()},
                                           {"capabilities", json_io::to_json(backend->capabilities())}});
  respond_json(context, 200, backends);
}

}  // namespace hutch::server
