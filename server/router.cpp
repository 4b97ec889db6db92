#include "router.hpp"

#include "http_error.hpp"

#include <hutch/error.hpp>

#include <hutch/fs.hpp>
#include <hutch/log.hpp>

#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>
#include <cstdio>

namespace hutch::server {

namespace {

// The segments of a path: "/v1/sandboxes/x" -> {"v1", "sandboxes", "x"}.
std::vector<std::string> segments(const std::string& path) { return path_components(path); }

// The exchange as the handler sees it, noting the status it answers with (hutch_requests_total)
// and adding to a whole response the time the service spent on it, from the moment a worker took
// the request to the answer (`Server-Timing: handler;dur=MS`): what a client's own timing
// cannot tell apart from its connection's and its own start-up.
class StatusRecorder final : public Exchange {
 public:
  explicit StatusRecorder(Exchange& inner) : inner_(inner), started_(std::chrono::steady_clock::now()) {}
  unsigned status() const { return status_; }

  Request& request() override { return inner_.request(); }
  std::string_view read_body_chunk() override { return inner_.read_body_chunk(); }
  std::string read_body(std::uint64_t limit) override { return inner_.read_body(limit); }
  void respond(unsigned status, std::string_view content_type, std::string body, const Headers& headers = {}) override {
    status_ = status;
    const std::chrono::duration<double, std::milli> took = std::chrono::steady_clock::now() - started_;
    char timing[48];
    std::snprintf(timing, sizeof timing, "handler;dur=%.3f", took.count());
    Headers with_timing = headers;
    with_timing.emplace_back("Server-Timing", timing);
    inner_.respond(status, content_type, std::move(body), with_timing);
  }
  void begin_stream(unsigned status, std::string_view content_type) override {
    status_ = status;
    inner_.begin_stream(status, content_type);
  }
  void write_chunk(std::string_view data) override { inner_.write_chunk(data); }
  void end_stream() override { inner_.end_stream(); }
  WebSocket& accept_websocket() override {
    WebSocket& socket = inner_.accept_websocket();
    status_ = 101;
    return socket;
  }
  void tunnel(int upstream, std::size_t strip_segments, const std::vector<std::string>& drop_headers,
              std::shared_ptr<void> held) override {
    inner_.tunnel(upstream, strip_segments, drop_headers, std::move(held));
    status_ = 101;  // handed to the sandbox's server, which answers itself
  }
  bool responded() const override { return inner_.responded(); }

 private:
  Exchange& inner_;
  const std::chrono::steady_clock::time_point started_;
  unsigned status_ = 0;
};

}  // namespace

void Router::add(std::string method, std::string pattern, Handler handler, bool open) {
  routes_.push_back({std::move(method), std::move(pattern), std::move(handler), open});
}

void Router::add_guarded(std::string method, std::string pattern, std::function<bool(const Request&)> when,
                         Handler handler, bool open) {
  auto first_unguarded = std::find_if(routes_.begin(), routes_.end(), [](const Route& route) { return !route.when; });
  routes_.insert(first_unguarded, {std::move(method), std::move(pattern), std::move(handler), open, std::move(when)});
}

const Route* Router::match(Request& request, std::string& allowed) const {
  const auto parts = segments(request.path);
  for (const Route& route : routes_) {
    if (route.when && !route.when(request)) continue;
    auto pattern = segments(route.pattern);
    const bool rest = !pattern.empty() && pattern.back() == "{*}";
    if (rest) pattern.pop_back();
    if (rest ? parts.size() < pattern.size() : pattern.size() != parts.size()) continue;
    std::map<std::string, std::string> params;
    bool matches = true;
    for (std::size_t i = 0; i < pattern.size() && matches; ++i) {
      if (pattern[i].size() > 2 && pattern[i].front() == '{' && pattern[i].back() == '}')
        params[pattern[i].substr(1, pattern[i].size() - 2)] = parts[i];
      else
        matches = pattern[i] == parts[i];
    }
    if (!matches) continue;
    if (route.method != "*" && route.method != request.method) {
      allowed += (allowed.empty() ? "" : ", ") + route.method;
      continue;
    }
    request.params = std::move(params);
    return &route;
  }
  return nullptr;
}

bool Router::dispatch(Service& service, Exchange& outer) const {
  StatusRecorder exchange(outer);
  const Route* route = nullptr;
  const bool reuse = dispatch(service, exchange, route);
  service.metrics().count_request(route ? route->pattern : "unmatched", exchange.request().method, exchange.status());
  return reuse;
}

bool Router::dispatch(Service& service, Exchange& exchange, const Route*& route) const {
  Request& request = exchange.request();
  unsigned status = 0;
  std::string code, message;
  try {
    std::string allowed;
    route = match(request, allowed);
    if (route == nullptr && !allowed.empty()) {
      // Authenticate first: an unauthenticated caller learns nothing about the routes.
      service.authenticate(request.authorization);
      status = 405;
      code = "invalid_argument";
      message = "method " + request.method + " is not allowed on " + request.path + " (allowed: " + allowed + ")";
    } else if (route == nullptr) {
      service.authenticate(request.authorization);
      throw Error(Errc::not_found, "no route " + request.method + " " + request.path + " (see GET /v1/openapi.json)");
    } else {
      Context context{service, exchange, route->open ? Caller{"anonymous", std::nullopt}
                                                     : service.authenticate(request.authorization)};
      // Held until the handler returns, whatever way it ends (429 past a request cap).
      const Caps::Slot slot = route->open ? Caps::Slot{} : service.caps().take_request(context.caller);
      route->handler(context);
      if (!exchange.responded()) throw Error(Errc::backend, "internal error: the handler sent no response");
      return true;
    }
  } catch (const Error& error) {
    status = http_status(error.code());
    code = std::string(to_string(error.code()));
    message = error.what();
  } catch (const std::exception& error) {
    status = 500;
    code = "backend";
    message = std::string("internal error: ") + error.what();
  }
  if (exchange.responded()) {
    logger()->warn("{} {}: failed after its response began: {}", request.method, request.path, message);
    return false;
  }
  if (status >= 500) logger()->warn("{} {}: {} {}", request.method, request.path, status, message);
  try {
    // A caller over a cap is told when to try again.
    const Headers retry{{"Retry-After", std::to_string(Caps::kRetryAfterSeconds)}};
    exchange.respond(status, "application/json", error_body(code, message), status == 429 ? retry : Headers{});
  } catch (const std::exception&) {
    return false;
  }
  return true;
}

}  // namespace hutch::server
