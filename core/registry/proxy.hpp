// Which proxy a registry request goes through, from the environment as curl and Go's
// net/http read it: HTTPS_PROXY (or https_proxy) for https:// URLs, HTTP_PROXY (or
// http_proxy) for http:// ones, none for the hosts NO_PROXY (or no_proxy) lists. Requests go
// through the proxy in a CONNECT tunnel, plain HTTP ones too.
#pragma once

#include "http_client.hpp"

#include <functional>
#include <optional>
#include <string>

namespace hutch::registry {

// Reads a variable of the environment (std::getenv by default; tests give their own).
using EnvLookup = std::function<std::optional<std::string>(const char* name)>;

// The proxy (an http:// URL, or "host:port") for `url`, or nullopt to connect directly.
// Never for loopback hosts (localhost, 127.0.0.0/8, ::1), as Docker has it. NO_PROXY is a
// comma-separated list: "*" (every host), a host name that also covers its subdomains
// ("example.com", ".example.com"), an address, any of them with ":port" to match that port
// only. Errc::invalid_argument naming the variable for a proxy URL that is not http://
// (TLS to the proxy itself is not supported) or carries credentials.
std::optional<Url> proxy_for(const Url& url, const EnvLookup& env = {});

}  // namespace hutch::registry
