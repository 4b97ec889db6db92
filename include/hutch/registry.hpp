// Images from OCI registries: names as Docker resolves them, the [images] settings shared by
// every backend, and a client for the OCI distribution API (v2).
//
// The client itself (Boost.Beast, OpenSSL) lives in a module of its own, hutch-registry.so,
// that open_registry_client loads on first use: a command that pulls nothing never loads
// TLS. Names and settings are plain libhutch code.
#pragma once

#include <hutch/export.hpp>
#include <hutch/image_settings.hpp>

#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace spdlog {
class logger;
}

namespace hutch {

// "python:3.12-slim" -> registry "docker.io", repository "library/python", tag "3.12-slim".
struct HUTCH_API ImageReference {
  std::string registry;    // "docker.io", "127.0.0.1:5000", "ghcr.io"
  std::string repository;  // "library/python", "org/app"
  std::string tag;         // "latest" when neither tag nor digest was given; empty with a digest only
  std::string digest;      // "sha256:<64 hex>" or empty

  // "docker.io/library/python:3.12-slim", "host:5000/app@sha256:..", "r/app:1@sha256:.."
  std::string canonical() const;
  // What names the manifest in the API: the digest when given, else the tag.
  std::string manifest_reference() const;
  // The host (and port) requests go to: "registry-1.docker.io" for docker.io.
  std::string api_host() const;
};

// Parses a name as the docker CLI does: the first component is a registry when it contains
// '.' or ':' or is "localhost", else the name is on docker.io (with "library/" in front of a
// single component). Errc::invalid_argument naming `name` and what is wrong (upper case in the
// repository, an empty component, a malformed tag or digest).
HUTCH_API ImageReference parse_image_reference(std::string_view name);

// A content descriptor of the OCI image spec.
struct BlobDescriptor {
  std::string media_type;
  std::string digest;  // "sha256:<hex>" (or sha512)
  std::uint64_t size = 0;
};

// An image manifest for the host's platform.
struct ImageManifest {
  std::string digest;                  // of the manifest the registry returned for this platform
  BlobDescriptor config;               // the image config (Entrypoint, Cmd, Env, ...)
  std::vector<BlobDescriptor> layers;  // bottom-most first
};

// Called while a blob downloads with the bytes received so far.
using BlobProgress = std::function<void(std::uint64_t received)>;

// One registry client; may be used for several registries, from one thread at a time.
// Every request authenticates as the registry asks: the Bearer token flow (anonymous, or with
// the settings' credentials for that registry), or Basic. Errors: Errc::not_found for an
// unknown repository, tag or blob; Errc::permission_denied when the registry refuses the
// credentials; Errc::invalid_argument when content does not match its digest or size, or a
// document is malformed; Errc::io / Errc::timeout for the network. Messages name the image
// and, for blobs, the digest.
class HUTCH_INTERFACE RegistryClient {
 public:
  virtual ~RegistryClient() = default;

  // The manifest of `image` for this host's platform (linux and this machine's architecture):
  // an image index / manifest list is followed to the matching entry. The manifest is checked
  // against the digest of `image` when it names one. Errc::not_found when the index has no
  // entry for this platform.
  virtual ImageManifest manifest(const ImageReference& image) = 0;

  // A small blob (an image config: at most 4 MiB), verified against its digest and size.
  virtual std::string small_blob(const ImageReference& image, const BlobDescriptor& blob) = 0;

  // Streams a blob into `file` (created or truncated), hashing as it arrives: the download
  // stops at the descriptor's size, and an Errc::invalid_argument naming the digest is thrown
  // when the content differs. `file` then holds unverified bytes: the caller removes it.
  virtual void fetch_blob(const ImageReference& image, const BlobDescriptor& blob,
                          const std::filesystem::path& file, const BlobProgress& progress) = 0;
};

// Loads hutch-registry.so (next to libhutch) and makes a client. The module stays loaded while
// the client lives. Errc::plugin when the module cannot be loaded.
HUTCH_API std::shared_ptr<RegistryClient> open_registry_client(const ImageSettings& settings,
                                                               std::shared_ptr<spdlog::logger> log);

}  // namespace hutch
