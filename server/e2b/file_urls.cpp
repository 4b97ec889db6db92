#include "file_urls.hpp"

#include <hutch/base64.hpp>
#include <hutch/error.hpp>

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include <charconv>
#include <chrono>
#include <vector>

namespace hutch::server::e2b {
namespace {

std::string sha256(std::string_view data) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int size = 0;
  if (::EVP_Digest(data.data(), data.size(), digest, &size, ::EVP_sha256(), nullptr) != 1)
    throw Error(Errc::backend, "cannot compute SHA-256 for a file URL signature");
  return std::string(reinterpret_cast<const char*>(digest), size);
}

bool same(std::string_view a, std::string_view b) {
  return a.size() == b.size() && ::CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

std::optional<std::int64_t> expiration_of(Context& context) {
  const auto text = context.request().query_value("signature_expiration");
  if (!text) return std::nullopt;
  std::int64_t value = 0;
  const auto [end, error] = std::from_chars(text->data(), text->data() + text->size(), value);
  if (error != std::errc() || end != text->data() + text->size())
    throw Error(Errc::invalid_argument, "query parameter 'signature_expiration' must be whole seconds since the "
                                        "epoch, not '" + *text + "'");
  const auto now = std::chrono::duration_cast<std::chrono::seconds>(
                       std::chrono::system_clock::now().time_since_epoch())
                       .count();
  if (value < now)
    throw Error(Errc::unauthenticated, "the file URL's signature expired at " + *text + " (seconds since the epoch)");
  return value;
}

}  // namespace

std::string file_url_signature(std::string_view path, std::string_view operation, std::string_view user,
                               std::string_view access_token, std::optional<std::int64_t> expiration) {
  std::string raw;
  raw.append(path).append(":").append(operation).append(":").append(user).append(":").append(access_token);
  if (expiration) raw.append(":").append(std::to_string(*expiration));
  std::string encoded = base64_encode(sha256(raw));
  while (!encoded.empty() && encoded.back() == '=') encoded.pop_back();
  return "v1_" + encoded;
}

OwnedSandbox file_request_sandbox(E2b& e2b, Context& context, std::string_view operation) {
  const auto signature = context.request().query_value("signature");
  if (!signature) return e2b.envd_sandbox(context);
  const auto expiration = expiration_of(context);
  const std::string path = context.request().query_value("path").value_or("");
  const std::string user = context.request().query_value("username").value_or("");
  const Caller envd{"e2b-envd", std::nullopt};  // the signature proves the control plane's say-so

  std::vector<std::string> candidates;
  if (auto id = context.request().header("e2b-sandbox-id"); id && !id->empty()) {
    candidates.push_back(*id);
  } else {
    for (const SandboxInfo& info : e2b.service().list(envd, Filter{})) candidates.push_back(info.id);
  }
  for (const std::string& id : candidates)
    if (same(*signature, file_url_signature(path, operation, user, e2b.access_token(id), expiration)))
      return e2b.service().find(envd, id);
  throw Error(Errc::unauthenticated, "the file URL's signature does not match: it was not made for this path, "
                                     "operation and user by a sandbox of this service (Sandbox." +
                                         std::string(operation == "read" ? "downloadUrl" : "uploadUrl") + ")");
}

}  // namespace hutch::server::e2b
