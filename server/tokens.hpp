// The service's bearer tokens ([serve] tokens_file, --tokens-file). One per line:
//   NAME TOKEN [tenant=VALUE]
// blank lines and lines starting with '#' ignored. A token with a tenant sees and touches only
// sandboxes labelled hutch.tenant=VALUE (and its sandboxes get that label); one without is the
// operator's and sees every sandbox.
#pragma once

#include <array>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace hutch::server {

// Who made a request.
struct Caller {
  std::string name;                   // the token's NAME; "local" when no tokens are configured
  std::optional<std::string> tenant;  // set: restricted to that tenant's sandboxes
};

class Tokens {
 public:
  // Errc::config naming file:line for a malformed line, a short token (under 16 characters), a
  // duplicate name or token, or a file that others can read (it holds secrets).
  static Tokens load(const std::filesystem::path& file);

  bool empty() const { return entries_.empty(); }

  // The caller whose token `presented` is, compared in constant time with every token (the
  // digests are compared, so neither the length nor the content of a token leaks through
  // timing); nullopt when none matches.
  std::optional<Caller> find(std::string_view presented) const;

 private:
  struct Entry {
    std::array<unsigned char, 32> digest;  // SHA-256 of the token
    Caller caller;
  };
  std::vector<Entry> entries_;
};

}  // namespace hutch::server
