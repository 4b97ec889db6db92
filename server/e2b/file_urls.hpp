// The SDK's upload and download URLs (Sandbox.uploadUrl / downloadUrl): envd's /files with
// `signature` (and `signature_expiration`) in the query, made by the SDK from the sandbox's
// envd access token, so that any HTTP client (curl, a browser form) can use the URL without
// headers. With E2B_SANDBOX_URL set the URL does not name the sandbox either (every sandbox
// has the same envd URL); the sandbox is then the one whose access token made the signature.
#pragma once

#include "context.hpp"

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace hutch::server::e2b {

// The SDK's signature of a file URL: "v1_" + base64(SHA-256("PATH:OPERATION:USER:TOKEN" with
// ":EXPIRATION" appended when there is one)), the padding dropped. `operation` is "read" for a
// download, "write" for an upload; `user` is the URL's username ("" when it names none).
std::string file_url_signature(std::string_view path, std::string_view operation, std::string_view user,
                               std::string_view access_token, std::optional<std::int64_t> expiration);

// The sandbox a /files request is for. Without `signature` in the query: envd_sandbox (the
// E2b-Sandbox-Id and X-Access-Token headers). With one: the sandbox named by E2b-Sandbox-Id,
// or without that header the sandbox among all the service's whose access token made it;
// Errc::unauthenticated when none did or `signature_expiration` has passed.
OwnedSandbox file_request_sandbox(E2b& e2b, Context& context, std::string_view operation);

}  // namespace hutch::server::e2b
