// Answers a registry's WWW-Authenticate challenge (the distribution token flow): Bearer, by
// fetching a token from the realm (anonymously, with Basic credentials, or with an identity
// token as an OAuth2 refresh token), or Basic with the credentials themselves.
#pragma once

#include "http_client.hpp"

#include <hutch/image_settings.hpp>

#include <map>
#include <optional>
#include <string>
#include <string_view>

namespace hutch::registry {

struct Challenge {
  std::string scheme;                         // "bearer" or "basic" (lower case)
  std::map<std::string, std::string> params;  // realm, service, scope, ...
};

// Parses `Bearer realm="https://auth/token",service="reg",scope="repository:x:pull"`.
// Errc::invalid_argument naming `registry` when the header is empty or malformed.
Challenge parse_challenge(std::string_view header, const std::string& registry);

// The Authorization header value answering `challenge`. `scope` is used when the challenge
// names none. Errc::permission_denied when the registry asks for credentials there are none
// of, or refuses them; the message says which [images.auth] entry to set. The token realm must
// be https unless `insecure` (the registry itself is reached over plain HTTP).
std::string answer_challenge(HttpClient& http, const Challenge& challenge, const std::string& registry,
                             const std::optional<RegistryCredentials>& credentials, const std::string& scope,
                             bool insecure);

}  // namespace hutch::registry
