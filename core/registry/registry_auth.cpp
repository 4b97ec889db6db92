#include "registry_auth.hpp"

#include <hutch/base64.hpp>
#include <hutch/error.hpp>
#include <hutch/percent_encoding.hpp>

#include <boost/json.hpp>

#include <cctype>

namespace hutch::registry {

namespace {

namespace json = boost::json;

constexpr std::uint64_t kMaxTokenAnswer = 1 << 20;

std::string basic_value(const RegistryCredentials& credentials) {
  return "Basic " + base64_encode(credentials.username + ":" + credentials.password);
}

[[noreturn]] void refused(const std::string& registry, const std::string& why) {
  throw Error(Errc::permission_denied, "registry " + registry + " " + why +
                                           " (set [images.auth.\"" + registry +
                                           "\"] username and password in the config, or log in with docker login)");
}

}  // namespace

Challenge parse_challenge(std::string_view header, const std::string& registry) {
  Challenge challenge;
  const auto space = header.find(' ');
  for (char c : header.substr(0, space)) challenge.scheme += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  if (challenge.scheme.empty())
    throw Error(Errc::invalid_argument, "registry " + registry + " answered 401 without a WWW-Authenticate challenge");
  std::string_view rest = space == std::string_view::npos ? std::string_view() : header.substr(space + 1);
  while (!rest.empty()) {
    while (!rest.empty() && (rest.front() == ' ' || rest.front() == ',')) rest.remove_prefix(1);
    const auto equals = rest.find('=');
    if (equals == std::string_view::npos) break;
    std::string key;
    for (char c : rest.substr(0, equals)) key += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    rest.remove_prefix(equals + 1);
    std::string value;
    if (!rest.empty() && rest.front() == '"') {
      rest.remove_prefix(1);
      while (!rest.empty() && rest.front() != '"') {
        if (rest.front() == '\\' && rest.size() > 1) rest.remove_prefix(1);
        value += rest.front();
        rest.remove_prefix(1);
      }
      if (rest.empty())
        throw Error(Errc::invalid_argument, "registry " + registry + ": malformed WWW-Authenticate '" + std::string(header) + "'");
      rest.remove_prefix(1);
    } else {
      const auto end = rest.find(',');
      value = std::string(rest.substr(0, end));
      rest = end == std::string_view::npos ? std::string_view() : rest.substr(end);
    }
    challenge.params[key] = value;
  }
  return challenge;
}

std::string answer_challenge(HttpClient& http, const Challenge& challenge, const std::string& registry,
                             const std::optional<RegistryCredentials>& credentials, const std::string& scope,
                             bool insecure) {
  if (challenge.scheme == "basic") {
    if (!credentials || credentials->username.empty()) refused(registry, "asks for a user name and password");
    return basic_value(*credentials);
  }
  if (challenge.scheme != "bearer")
    throw Error(Errc::unsupported, "registry " + registry + " asks for '" + challenge.scheme +
                                       "' authentication; hutch knows Bearer and Basic");
  const auto realm_it = challenge.params.find("realm");
  if (realm_it == challenge.params.end() || realm_it->second.empty())
    throw Error(Errc::invalid_argument, "registry " + registry + ": its Bearer challenge names no realm");
  HttpRequest request;
  request.url = parse_url(realm_it->second);
  if (!request.url.tls && !insecure)
    throw Error(Errc::permission_denied, "registry " + registry + " sends its token requests to " + realm_it->second +
                                             ", which is plain HTTP; refusing (list the registry in [images] "
                                             "insecure_registries if that is meant)");
  const auto service_it = challenge.params.find("service");
  const std::string service = service_it == challenge.params.end() ? std::string() : service_it->second;
  const auto scope_it = challenge.params.find("scope");
  const std::string wanted_scope = scope_it == challenge.params.end() ? scope : scope_it->second;
  if (credentials && !credentials->identity_token.empty()) {
    // OAuth2 with the refresh token `docker login` stored.
    request.method = "POST";
    request.body = "grant_type=refresh_token&client_id=hutch&refresh_token=" + percent_encode(credentials->identity_token) +
                   "&service=" + percent_encode(service) + "&scope=" + percent_encode(wanted_scope);
  } else {
    std::string query;
    if (!service.empty()) query += "service=" + percent_encode(service);
    if (!wanted_scope.empty()) query += std::string(query.empty() ? "" : "&") + "scope=" + percent_encode(wanted_scope);
    if (!query.empty()) request.url.target += (request.url.target.find('?') == std::string::npos ? "?" : "&") + query;
    if (credentials && !credentials->username.empty()) request.headers.emplace_back("Authorization", basic_value(*credentials));
  }
  std::string body;
  const HttpResponse answer = http.send(request, [&](std::string_view chunk) { body.append(chunk); }, kMaxTokenAnswer);
  if (answer.status == 401 || answer.status == 403)
    refused(registry, credentials ? "refused the credentials hutch has for it (token server " + realm_it->second + ")"
                                  : "allows no anonymous access");
  if (answer.status != 200)
    throw Error(Errc::backend, "registry " + registry + ": token server " + realm_it->second + " answered " +
                                   std::to_string(answer.status) + ": " + answer.body.substr(0, 200));
  boost::system::error_code ec;
  const json::value document = json::parse(body, ec);
  const json::object* object = ec ? nullptr : document.if_object();
  for (const char* key : {"token", "access_token"})
    if (object != nullptr)
      if (const json::value* token = object->if_contains(key); token != nullptr && token->is_string() && !token->as_string().empty())
        return "Bearer " + std::string(token->as_string());
  throw Error(Errc::invalid_argument, "registry " + registry + ": token server " + realm_it->second +
                                          " answered without a token");
}

}  // namespace hutch::registry
