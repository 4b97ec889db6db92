// The sandbox's other ports, as E2B's proxy serves them: a request for port PORT of sandbox ID
// is relayed to that port on the sandbox's loopback through the service's port proxy
// (routes_ports.cpp, Handle::connect_port; so it works with network = "none"). Two ways to
// address it, as the SDK does:
//   - the host name "PORT-ID.<domain>" that Sandbox.getHost(PORT) answers ([serve.e2b] domain,
//     which the control plane hands the SDK as the sandbox's domain): any path, passed on as is;
//   - E2B_SANDBOX_URL (/e2b/envd) with the headers E2b-Sandbox-Id and E2b-Sandbox-Port (any
//     port but envd's own, 49983): the path after /e2b/envd.
// HTTP and upgrades (WebSocket) alike. The sandbox's access token, or a service token, is
// needed (E2b::port_sandbox), and none of these credentials reaches the sandbox's server.
#include "context.hpp"

#include "routes.hpp"

#include <hutch/error.hpp>
#include <hutch/handle.hpp>

#include <algorithm>
#include <cctype>
#include <optional>

namespace hutch::server::e2b {

namespace json = boost::json;

namespace {

constexpr std::string_view kEnvdPort = "49983";
constexpr std::size_t kEnvdPrefixSegments = 2;  // "/e2b/envd"
const std::vector<std::string> kCredentialHeaders = {"x-access-token", "e2b-traffic-access-token", "x-api-key"};
constexpr const char* kMethods[] = {"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"};

struct PortTarget {
  std::string sandbox_id;
  std::string port;
};

bool iequals(std::string_view a, std::string_view b) {
  return a.size() == b.size() &&
         std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) { return std::tolower(x) == std::tolower(y); });
}

// "PORT-ID.<domain>[:listener port]" -> {ID, PORT}; nullopt for any other host.
std::optional<PortTarget> host_target(const Request& request, const std::string& domain) {
  if (domain.empty()) return std::nullopt;
  auto host = request.header("host");
  if (!host) return std::nullopt;
  std::string_view name = *host;
  if (auto colon = name.rfind(':'); colon != std::string_view::npos) name = name.substr(0, colon);
  if (name.size() <= domain.size() + 1 || !iequals(name.substr(name.size() - domain.size()), domain) ||
      name[name.size() - domain.size() - 1] != '.')
    return std::nullopt;
  const std::string_view label = name.substr(0, name.size() - domain.size() - 1);
  const auto dash = label.find('-');
  if (dash == 0 || dash == std::string_view::npos || dash + 1 == label.size() || label.find('.') != std::string_view::npos)
    return std::nullopt;
  return PortTarget{std::string(label.substr(dash + 1)), std::string(label.substr(0, dash))};
}

// E2b-Sandbox-Id + E2b-Sandbox-Port naming another port than envd's; nullopt otherwise.
std::optional<PortTarget> header_target(const Request& request) {
  auto port = request.header("e2b-sandbox-port");
  if (!port || *port == kEnvdPort) return std::nullopt;
  return PortTarget{request.header("e2b-sandbox-id").value_or(""), *port};
}

void relay(E2b& e2b, Context& context, const PortTarget& target, std::size_t strip_segments) {
  if (target.sandbox_id.empty())
    throw Error(Errc::invalid_argument, "a request for port " + target.port + " needs the header E2b-Sandbox-Id");
  const std::uint16_t port = port_number(target.port, "port of sandbox " + target.sandbox_id);
  OwnedSandbox owned = e2b.port_sandbox(context, target.sandbox_id);
  try {
    relay_to_port(context, context.caller, *owned.handle, port, strip_segments, kCredentialHeaders);
  } catch (const Error& error) {
    // As E2B's proxy answers: the sandbox runs, but nothing listens on the port.
    if (error.code() != Errc::io || context.exchange.responded()) throw;
    drain_body(context);
    context.exchange.respond(502, "application/json",
                             json::serialize(json::object{{"code", 502}, {"message", error.what()}}));
  }
}

}  // namespace

void add_port_routes(Router& router, const std::shared_ptr<E2b>& e2b) {
  for (const char* method : kMethods) {
    router.add_guarded(
        method, "/{*}", [e2b](const Request& request) { return host_target(request, e2b->domain()).has_value(); },
        rest_handler(e2b, [](E2b& e2b, Context& context) {
          relay(e2b, context, *host_target(context.request(), e2b.domain()), 0);
        }),
        /*open=*/true);
    router.add_guarded(
        method, "/e2b/envd/{*}", [](const Request& request) { return header_target(request).has_value(); },
        rest_handler(e2b, [](E2b& e2b, Context& context) {
          relay(e2b, context, *header_target(context.request()), kEnvdPrefixSegments);
        }),
        /*open=*/true);
  }
}

}  // namespace hutch::server::e2b
