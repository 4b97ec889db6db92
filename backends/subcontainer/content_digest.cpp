#include "content_digest.hpp"

#include "unique_fd.hpp"

#include <hutch/error.hpp>

#include <nettle/nettle-meta.h>
#include <nettle/sha2.h>

#include <fcntl.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstring>
#include <vector>

namespace fs = std::filesystem;

namespace hutch::subcontainer {

std::string to_hex(const unsigned char* bytes, std::size_t size) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out;
  out.reserve(size * 2);
  for (std::size_t i = 0; i < size; ++i) {
    out += kDigits[bytes[i] >> 4];
    out += kDigits[bytes[i] & 0xf];
  }
  return out;
}

namespace {

// Feeds the file to `update` in 1 MiB pieces; returns the number of bytes read.
template <typename Update>
std::uint64_t read_through(const fs::path& file, Update&& update) {
  UniqueFd fd(::open(file.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd)
    throw Error(errno == ENOENT ? Errc::not_found : Errc::io,
                "cannot open '" + file.string() + "': " + std::strerror(errno));
  std::vector<std::uint8_t> buffer(1 << 20);
  std::uint64_t total = 0;
  for (;;) {
    const ssize_t got = ::read(fd.get(), buffer.data(), buffer.size());
    if (got < 0) {
      if (errno == EINTR) continue;
      throw Error(Errc::io, "cannot read '" + file.string() + "': " + std::strerror(errno));
    }
    if (got == 0) return total;
    update(static_cast<std::size_t>(got), buffer.data());
    total += static_cast<std::uint64_t>(got);
  }
}

struct FileDigest {
  std::string hex;
  std::uint64_t size = 0;
};

// Hashes a file with one of nettle's hash algorithms (nettle_sha256, nettle_sha512, ...).
FileDigest digest_of(const fs::path& file, const nettle_hash& algorithm) {
  std::vector<std::uint8_t> context(algorithm.context_size);
  algorithm.init(context.data());
  FileDigest out;
  out.size = read_through(file, [&](std::size_t n, const std::uint8_t* data) { algorithm.update(context.data(), n, data); });
  std::vector<std::uint8_t> digest(algorithm.digest_size);
  algorithm.digest(context.data(), digest.size(), digest.data());
  out.hex = to_hex(digest.data(), digest.size());
  return out;
}

// The hex length of an algorithm's digest; 0 for an algorithm this store does not know.
std::size_t hex_length(std::string_view algorithm) {
  if (algorithm == "sha256") return 2 * SHA256_DIGEST_SIZE;
  if (algorithm == "sha512") return 2 * SHA512_DIGEST_SIZE;
  return 0;
}

}  // namespace

std::string sha256_hex_of_file(const fs::path& file) { return digest_of(file, nettle_sha256).hex; }

bool is_well_formed_digest(std::string_view digest) {
  const auto colon = digest.find(':');
  if (colon == std::string_view::npos) return false;
  const std::string_view hex = digest.substr(colon + 1);
  if (hex.size() != hex_length(digest.substr(0, colon))) return false;
  for (char c : hex)
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  return true;
}

void verify_content_digest(const fs::path& file, std::string_view digest,
                           std::optional<std::uint64_t> expected_size, const std::string& what) {
  if (!is_well_formed_digest(digest))
    throw Error(Errc::invalid_argument, what + ": malformed or unsupported digest '" + std::string(digest) +
                                            "' (expected sha256:<64 hex> or sha512:<128 hex>)");
  const std::string_view algorithm = digest.substr(0, digest.find(':'));
  const FileDigest actual = digest_of(file, algorithm == "sha256" ? nettle_sha256 : nettle_sha512);
  if (expected_size && actual.size != *expected_size)
    throw Error(Errc::invalid_argument, what + " is " + std::to_string(actual.size) + " bytes, its descriptor says " +
                                            std::to_string(*expected_size) + " (truncated or corrupted archive)");
  if (digest.substr(algorithm.size() + 1) != actual.hex)
    throw Error(Errc::invalid_argument, what + " does not match its digest: expected " + std::string(digest) +
                                            ", content has " + std::string(algorithm) + ":" + actual.hex +
                                            " (corrupted archive)");
}

}  // namespace hutch::subcontainer
