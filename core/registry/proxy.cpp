#include "proxy.hpp"

#include <hutch/error.hpp>

#include <boost/asio/ip/address.hpp>

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <sstream>

namespace hutch::registry {
namespace {

std::optional<std::string> from_process_env(const char* name) {
  const char* value = std::getenv(name);
  if (value == nullptr || *value == '\0') return std::nullopt;
  return std::string(value);
}

// The upper-case name first, then the lower-case one (curl reads only http_proxy in lower case).
std::optional<std::string> variable(const EnvLookup& env, const std::string& upper) {
  std::string lower = upper;
  std::transform(lower.begin(), lower.end(), lower.begin(), [](unsigned char c) { return std::tolower(c); });
  for (const std::string& name : {upper, lower})
    if (auto value = env(name.c_str()); value && !value->empty()) return value;
  return std::nullopt;
}

std::string lower(std::string text) {
  std::transform(text.begin(), text.end(), text.begin(), [](unsigned char c) { return std::tolower(c); });
  return text;
}

bool is_loopback(const std::string& host) {
  if (lower(host) == "localhost") return true;
  boost::system::error_code ec;
  const auto address = boost::asio::ip::make_address(host, ec);
  return !ec && address.is_loopback();
}

std::string trimmed(std::string text) {
  const auto first = text.find_first_not_of(" \t");
  const auto last = text.find_last_not_of(" \t");
  return first == std::string::npos ? std::string() : text.substr(first, last - first + 1);
}

bool excluded(const Url& url, const std::string& no_proxy) {
  const std::string host = lower(url.host);
  std::stringstream entries(no_proxy);
  for (std::string entry; std::getline(entries, entry, ',');) {
    entry = lower(trimmed(entry));
    if (entry.empty()) continue;
    if (entry == "*") return true;
    std::string port;
    // "host:port", "[v6]:port", a bare IPv6 address (several colons) has no port.
    if (entry.front() == '[') {
      const auto close = entry.find(']');
      if (close == std::string::npos) continue;
      if (close + 1 < entry.size() && entry[close + 1] == ':') port = entry.substr(close + 2);
      entry = entry.substr(1, close - 1);
    } else if (std::count(entry.begin(), entry.end(), ':') == 1) {
      port = entry.substr(entry.find(':') + 1);
      entry = entry.substr(0, entry.find(':'));
    }
    if (!port.empty() && port != url.port) continue;
    if (entry.front() == '.') entry.erase(0, 1);
    if (host == entry || (host.size() > entry.size() && host.ends_with("." + entry))) return true;
  }
  return false;
}

}  // namespace

std::optional<Url> proxy_for(const Url& url, const EnvLookup& lookup) {
  const EnvLookup env = lookup ? lookup : EnvLookup(from_process_env);
  if (is_loopback(url.host)) return std::nullopt;
  const std::string name = url.tls ? "HTTPS_PROXY" : "HTTP_PROXY";
  const std::optional<std::string> proxy = variable(env, name);
  if (!proxy) return std::nullopt;
  if (const auto no_proxy = variable(env, "NO_PROXY"); no_proxy && excluded(url, *no_proxy)) return std::nullopt;
  std::string text = *proxy;
  if (text.find("://") == std::string::npos) text = "http://" + text;
  if (text.starts_with("https://"))
    throw Error(Errc::invalid_argument, name + " '" + *proxy + "': a proxy reached over TLS is not supported; give http://HOST:PORT");
  if (text.find('@') != std::string::npos)
    throw Error(Errc::invalid_argument, name + ": proxy credentials in the URL are not supported");
  try {
    Url parsed = parse_url(text);
    parsed.target = "/";
    return parsed;
  } catch (const Error& e) {
    throw Error(Errc::invalid_argument, name + " '" + *proxy + "' is not a proxy URL: " + e.what());
  }
}

}  // namespace hutch::registry
