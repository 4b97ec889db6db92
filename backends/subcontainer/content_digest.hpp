// Content digests of image files ("sha256:<hex>", "sha512:<hex>"), computed with nettle.
//
// Digests in docker-save and OCI archives are integrity checks, not signatures: whoever can
// change a layer can change the manifest too. Verifying them still catches what happens in
// practice — a truncated download, a corrupted disk, an archive put together by hand with the
// wrong blob — before a broken layer becomes an image.
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>

namespace hutch::subcontainer {

// Lowercase hex of `size` bytes.
std::string to_hex(const unsigned char* bytes, std::size_t size);

// The lowercase hex SHA-256 of a file's content. Errc::not_found / Errc::io naming the file.
std::string sha256_hex_of_file(const std::filesystem::path& file);

// Checks that `file` has the content `digest` ("sha256:<64 hex>" or "sha512:<128 hex>") names,
// and `expected_size` bytes when given. Errc::invalid_argument naming `what` (e.g. "archive
// 'x.tar' layer blobs/sha256/ab..") when the digest is malformed, its algorithm unknown, or the
// content differs.
void verify_content_digest(const std::filesystem::path& file, std::string_view digest,
                           std::optional<std::uint64_t> expected_size, const std::string& what);

// True when `digest` is "<algorithm>:<hex>" with a known algorithm and hex of its length.
bool is_well_formed_digest(std::string_view digest);

}  // namespace hutch::subcontainer
