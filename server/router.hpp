// The route table of the API: method + path pattern ("/v1/sandboxes/{id}/exec") -> handler.
// Each resource file (routes_*.cpp) adds its routes; dispatch() authenticates, matches, and
// maps every failure to its HTTP answer (http_error.hpp) in one place.
#pragma once

#include "exchange.hpp"
#include "service.hpp"

#include <functional>
#include <string>
#include <vector>

namespace hutch::server {

struct Context {
  Service& service;
  Exchange& exchange;
  Caller caller;
  // A place under the request caps a handler took itself, for routes whose caller is known
  // only inside the handler (E2B's, authenticated by their own headers); given back with the
  // context.
  Caps::Slot held{};
  Request& request() { return exchange.request(); }
};

using Handler = std::function<void(Context&)>;

struct Route {
  std::string method;   // "*": any method
  std::string pattern;  // segments; "{name}" matches one segment into Request::params; a last
                        // segment "{*}" matches the rest of the path (none or more segments)
  Handler handler;
  bool open = false;     // answered without a token (health, the API document)
  // A guarded route claims only the requests this accepts (by a header rather than the path:
  // E2B's port requests); guarded routes are tried before all others.
  std::function<bool(const Request&)> when;
};

class Router {
 public:
  void add(std::string method, std::string pattern, Handler handler, bool open = false);
  // A route tried before every unguarded one, for the requests `when` accepts.
  void add_guarded(std::string method, std::string pattern, std::function<bool(const Request&)> when,
                   Handler handler, bool open = false);

  // Runs the request: authentication (unless the route is open), the handler, and the error
  // answer if anything throws before a response was sent (after one was, the connection is
  // closed so the client sees a cut response, never a wrong one). Returns false when the
  // connection must not be reused.
  bool dispatch(Service& service, Exchange& exchange) const;

 private:
  const Route* match(Request& request, std::string& allowed) const;
  // dispatch(), telling which route matched (nullptr: none).
  bool dispatch(Service& service, Exchange& exchange, const Route*& route) const;
  std::vector<Route> routes_;
};

// Every route of /v1, in one table (routes.cpp).
Router make_router();

}  // namespace hutch::server
