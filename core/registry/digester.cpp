#include "digester.hpp"

#include <hutch/error.hpp>

#include <openssl/evp.h>

#include <algorithm>

namespace hutch::registry {

struct Digester::Impl {
  std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> context{EVP_MD_CTX_new(), &EVP_MD_CTX_free};
  std::string algorithm;
};

Digester::Digester(std::string_view digest, const std::string& what) : impl_(std::make_unique<Impl>()) {
  const auto colon = digest.find(':');
  impl_->algorithm = std::string(digest.substr(0, colon));
  const std::size_t hex_length = impl_->algorithm == "sha256" ? 64 : impl_->algorithm == "sha512" ? 128 : 0;
  const std::string_view hex = colon == std::string_view::npos ? std::string_view() : digest.substr(colon + 1);
  const bool hex_ok = hex.size() == hex_length &&
                      std::all_of(hex.begin(), hex.end(), [](char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); });
  if (hex_length == 0 || !hex_ok)
    throw Error(Errc::invalid_argument, what + ": digest '" + std::string(digest) +
                                            "' is not sha256:<64 hex> or sha512:<128 hex>");
  const EVP_MD* md = impl_->algorithm == "sha256" ? EVP_sha256() : EVP_sha512();
  if (!impl_->context || EVP_DigestInit_ex(impl_->context.get(), md, nullptr) != 1)
    throw Error(Errc::backend, what + ": cannot start a " + impl_->algorithm + " digest");
}

Digester::~Digester() = default;

void Digester::update(std::string_view bytes) {
  if (EVP_DigestUpdate(impl_->context.get(), bytes.data(), bytes.size()) != 1)
    throw Error(Errc::backend, "digest update failed");
}

std::string Digester::finish() {
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  if (EVP_DigestFinal_ex(impl_->context.get(), out, &length) != 1) throw Error(Errc::backend, "digest failed");
  static constexpr char kHex[] = "0123456789abcdef";
  std::string text = impl_->algorithm + ":";
  for (unsigned int i = 0; i < length; ++i) {
    text += kHex[out[i] >> 4];
    text += kHex[out[i] & 15];
  }
  return text;
}

std::string sha256_digest(std::string_view bytes) {
  Digester digester("sha256:" + std::string(64, '0'), "content");
  digester.update(bytes);
  return digester.finish();
}

}  // namespace hutch::registry
