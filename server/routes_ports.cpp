// /v1/sandboxes/{id}/ports/{port}/... : the port proxy. HTTP requests and WebSocket upgrades are
// relayed to `port` on the sandbox's own loopback, through a connection the backend makes from
// inside the sandbox's network namespace (Handle::connect_port). So a server in a sandbox with
// network = "none" is reachable, by remote clients too, with the service's token (which the
// proxy removes from the request before it reaches the sandbox). The path after the port, and
// the query, are the sandbox server's.
#include "routes.hpp"

#include <hutch/error.hpp>

#include <unistd.h>

#include <charconv>

namespace hutch::server {

namespace {

// "/v1/sandboxes/{id}/ports/{port}": what the proxy strips from the target.
constexpr std::size_t kPrefixSegments = 5;

}  // namespace

std::uint16_t port_number(const std::string& text, const std::string& what) {
  unsigned value = 0;
  const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (error != std::errc() || end != text.data() + text.size() || value == 0 || value > 65535)
    throw Error(Errc::invalid_argument, what + ": expected a port 1-65535, got '" + text + "'");
  return static_cast<std::uint16_t>(value);
}

void relay_to_port(Context& context, const Caller& streamer, Handle& handle, std::uint16_t port,
                   std::size_t strip_segments, const std::vector<std::string>& drop_headers) {
  // Taken before connecting: a refused client costs the sandbox nothing.
  auto slot = std::make_shared<Caps::Slot>(context.service.caps().take_stream(streamer));
  const int upstream = handle.connect_port(port);
  try {
    context.exchange.tunnel(upstream, strip_segments, drop_headers, std::move(slot));
  } catch (...) {
    ::close(upstream);
    throw;
  }
}

void proxy_port(Context& context) {
  const std::uint16_t port = port_number(context.request().params.at("port"), "path segment 'port'");
  OwnedSandbox owned = sandbox_of(context);
  relay_to_port(context, context.caller, *owned.handle, port, kPrefixSegments);
}

}  // namespace hutch::server
