// The one mapping from hutch's error model to HTTP: every failure of a request is answered with
// the status of its Errc and the body {"error":{"code":"<Errc name>","message":"..."}}.
#pragma once

#include <hutch/error.hpp>

#include <string>

namespace hutch::server {

// invalid_argument, config 400; unauthenticated 401; permission_denied 403; not_found 404;
// already_exists, state 409; too_large 413; rate_limited 429; unsupported 501; timeout 504;
// backend, io, plugin 500.
unsigned http_status(Errc code);

// {"error":{"code":"...","message":"..."}}
std::string error_body(std::string_view code, std::string_view message);

}  // namespace hutch::server
