// A libnftables context: nftables commands (the `nft` language) run in this process, in
// the network namespace of the calling thread, without an `nft` child process.
#pragma once

#include <string>

struct nft_ctx;

namespace hutch::egress {

class Nftables {
 public:
  // Errc::backend when libnftables cannot make a context.
  Nftables();
  ~Nftables();
  Nftables(const Nftables&) = delete;
  Nftables& operator=(const Nftables&) = delete;

  // Runs `commands` as one transaction: all of them take effect or none. Returns what they
  // print (a `list` command). Errc::backend with nft's own message and `what` on failure.
  std::string run(const std::string& commands, const std::string& what);

 private:
  nft_ctx* context_ = nullptr;
};

}  // namespace hutch::egress
