#include "nftables.hpp"

#include <hutch/error.hpp>

#include <nftables/libnftables.h>

namespace hutch::egress {

Nftables::Nftables() {
  context_ = nft_ctx_new(NFT_CTX_DEFAULT);
  if (context_ == nullptr) throw Error(Errc::backend, "nftables: cannot create a libnftables context");
  // Captured, not printed on this process's stdout and stderr.
  nft_ctx_buffer_output(context_);
  nft_ctx_buffer_error(context_);
}

Nftables::~Nftables() { nft_ctx_free(context_); }

std::string Nftables::run(const std::string& commands, const std::string& what) {
  if (nft_run_cmd_from_buffer(context_, commands.c_str()) != 0) {
    std::string error = nft_ctx_get_error_buffer(context_);
    while (!error.empty() && error.back() == '\n') error.pop_back();
    throw Error(Errc::backend, "nftables: " + what + ": " + error);
  }
  return nft_ctx_get_output_buffer(context_);
}

}  // namespace hutch::egress
