// Digests of registry content ("sha256:<hex>", "sha512:<hex>") computed as the bytes stream by.
#pragma once

#include <memory>
#include <string>
#include <string_view>

namespace hutch::registry {

class Digester {
 public:
  // `digest` names the algorithm ("sha256:..."); Errc::invalid_argument naming `what` when
  // it is malformed or its algorithm unknown.
  Digester(std::string_view digest, const std::string& what);
  ~Digester();
  Digester(const Digester&) = delete;
  Digester& operator=(const Digester&) = delete;

  void update(std::string_view bytes);
  // "<algorithm>:<lowercase hex>" of everything updated so far; ends the digester.
  std::string finish();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// The sha256 digest of `bytes`.
std::string sha256_digest(std::string_view bytes);

}  // namespace hutch::registry
