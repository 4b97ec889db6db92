#include "http_error.hpp"

#include <boost/json.hpp>

namespace hutch::server {

unsigned http_status(Errc code) {
  switch (code) {
    case Errc::invalid_argument:
    case Errc::config: return 400;
    case Errc::unauthenticated: return 401;
    case Errc::permission_denied: return 403;
    case Errc::not_found: return 404;
    case Errc::already_exists:
    case Errc::state: return 409;
    case Errc::too_large: return 413;
    case Errc::rate_limited: return 429;
    case Errc::unsupported: return 501;
    case Errc::timeout: return 504;
    case Errc::backend:
    case Errc::io:
    case Errc::plugin: return 500;
  }
  return 500;
}

std::string error_body(std::string_view code, std::string_view message) {
  boost::json::object error{{"code", code}, {"message", message}};
  return boost::json::serialize(boost::json::object{{"error", std::move(error)}});
}

}  // namespace hutch::server
