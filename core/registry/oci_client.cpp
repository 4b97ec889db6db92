// The OCI distribution API client behind hutch::RegistryClient (include/hutch/registry.hpp),
// exported from hutch-registry.so for open_registry_client.
#include "digester.hpp"
#include "http_client.hpp"
#include "registry_auth.hpp"

#include <hutch/error.hpp>
#include <hutch/plugin.hpp>
#include <hutch/registry.hpp>

#include <boost/dll/alias.hpp>
#include <boost/json.hpp>
#include <spdlog/spdlog.h>

#include <fcntl.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace hutch::registry {

namespace {

namespace json = boost::json;

constexpr std::uint64_t kMaxManifest = 4 << 20;
constexpr std::uint64_t kMaxSmallBlob = 4 << 20;

constexpr const char* kManifestTypes =
    "application/vnd.oci.image.index.v1+json, application/vnd.docker.distribution.manifest.list.v2+json, "
    "application/vnd.oci.image.manifest.v1+json, application/vnd.docker.distribution.manifest.v2+json";

struct Platform {
  std::string architecture;
  std::string variant;  // "" when the architecture has none that matters
};

// The platform of this machine in the OCI image spec's (GOARCH) names.
Platform host_platform() {
  utsname name{};
  ::uname(&name);
  const std::string machine = name.machine;
  if (machine == "x86_64") return {"amd64", ""};
  if (machine == "aarch64" || machine == "arm64") return {"arm64", ""};
  if (machine.starts_with("armv7")) return {"arm", "v7"};
  if (machine.starts_with("armv6")) return {"arm", "v6"};
  if (machine == "i386" || machine == "i686") return {"386", ""};
  return {machine, ""};  // ppc64le, s390x, riscv64 are spelt the same
}

std::string string_field(const json::object& object, std::string_view key) {
  const json::value* value = object.if_contains(key);
  return value != nullptr && value->is_string() ? std::string(value->as_string()) : std::string();
}

BlobDescriptor descriptor_of(const json::value& value, const std::string& what) {
  const json::object* object = value.if_object();
  if (object == nullptr) throw Error(Errc::invalid_argument, what + " is not a descriptor object");
  BlobDescriptor out;
  out.media_type = string_field(*object, "mediaType");
  out.digest = string_field(*object, "digest");
  const json::value* size = object->if_contains("size");
  if (out.digest.empty() || size == nullptr || !size->is_number() || (size->is_int64() && size->as_int64() < 0))
    throw Error(Errc::invalid_argument, what + " lacks a digest or a non-negative size");
  out.size = size->is_uint64() ? size->as_uint64() : static_cast<std::uint64_t>(size->to_number<std::int64_t>());
  return out;
}

class OciClient final : public RegistryClient {
 public:
  OciClient(ImageSettings settings, std::shared_ptr<spdlog::logger> log)
      : settings_(std::move(settings)), log_(std::move(log)) {}

  ImageManifest manifest(const ImageReference& image) override {
    std::string media_type;
    json::value document = fetch_manifest(image, image.manifest_reference(), image.digest, media_type);
    if (is_index(document, media_type)) {
      const std::string digest = pick_platform(image, document);
      document = fetch_manifest(image, digest, digest, media_type);
      if (is_index(document, media_type))
        throw Error(Errc::invalid_argument, "image " + image.canonical() + ": the index entry " + digest +
                                                " for this platform is an index again");
      return parse_manifest(image, document, digest);
    }
    return parse_manifest(image, document, last_manifest_digest_);
  }

  std::string small_blob(const ImageReference& image, const BlobDescriptor& blob) override {
    if (blob.size > kMaxSmallBlob)
      throw Error(Errc::invalid_argument, "image " + image.canonical() + ": blob " + blob.digest + " declares " +
                                              std::to_string(blob.size) + " bytes, more than a config may have");
    std::string content;
    download(image, blob, [&](std::string_view chunk) { content.append(chunk); }, {});
    return content;
  }

  void fetch_blob(const ImageReference& image, const BlobDescriptor& blob, const std::filesystem::path& file,
                  const BlobProgress& progress) override {
    const int fd = ::open(file.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (fd < 0) throw Error(Errc::io, "cannot create '" + file.string() + "': " + std::strerror(errno));
    struct Closer {
      int fd;
      ~Closer() { ::close(fd); }
    } closer{fd};
    download(image, blob, [&](std::string_view chunk) {
      while (!chunk.empty()) {
        const ssize_t wrote = ::write(fd, chunk.data(), chunk.size());
        if (wrote < 0 && errno == EINTR) continue;
        if (wrote <= 0) throw Error(Errc::io, "cannot write '" + file.string() + "': " + std::strerror(errno));
        chunk.remove_prefix(static_cast<std::size_t>(wrote));
      }
    }, progress);
    if (::fsync(fd) != 0) throw Error(Errc::io, "cannot sync '" + file.string() + "': " + std::strerror(errno));
  }

 private:
  ImageSettings settings_;
  std::shared_ptr<spdlog::logger> log_;
  HttpClient http_;
  std::map<std::string, std::string> authorization_;  // "registry/repository" -> header value
  std::string last_manifest_digest_;

  // GET /v2/<repository><path>, answering an auth challenge once.
  HttpResponse get(const ImageReference& image, const std::string& path,
                   std::vector<std::pair<std::string, std::string>> headers, const BodySink& sink,
                   std::uint64_t max_body) {
    const bool insecure = settings_.is_insecure(image.registry);
    HttpRequest request;
    request.url = parse_url(std::string(insecure ? "http://" : "https://") + image.api_host() + "/v2/" +
                            image.repository + path);
    request.headers = std::move(headers);
    const std::string key = image.registry + "/" + image.repository;
    if (const auto it = authorization_.find(key); it != authorization_.end())
      request.headers.emplace_back("Authorization", it->second);
    HttpResponse response = http_.send(request, sink, max_body);
    if (response.status != 401) return response;
    const Challenge challenge = parse_challenge(response.header("www-authenticate"), image.registry);
    // Asked once: it may run a docker credential helper.
    const std::optional<RegistryCredentials> credentials = settings_.credentials_for(image.registry);
    const std::string answer = answer_challenge(http_, challenge, image.registry, credentials,
                                                "repository:" + image.repository + ":pull", insecure);
    authorization_[key] = answer;
    std::erase_if(request.headers, [](const auto& header) { return header.first == "Authorization"; });
    request.headers.emplace_back("Authorization", answer);
    response = http_.send(request, sink, max_body);
    if (response.status == 401 || response.status == 403)
      throw Error(Errc::permission_denied, "registry " + image.registry + " refuses access to " + image.repository +
                                               " (" + std::to_string(response.status) + ")" +
                                               (credentials ? std::string(" with the credentials hutch has for it")
                                                            : " anonymously: set [images.auth.\"" + image.registry +
                                                                  "\"] or log in with `docker login`"));
    return response;
  }

  [[noreturn]] void fail(const ImageReference& image, const std::string& what, const HttpResponse& response) {
    const std::string detail = response.body.substr(0, 300);
    if (response.status == 404)
      throw Error(Errc::not_found, "image " + image.canonical() + ": " + what + " not found in the registry (" +
                                       response.url.str() + ")");
    if (response.status == 403)
      throw Error(Errc::permission_denied, "image " + image.canonical() + ": the registry refuses " + what + ": " + detail);
    throw Error(Errc::backend, "image " + image.canonical() + ": registry answered " + std::to_string(response.status) +
                                   " for " + what + " (" + response.url.str() + "): " + detail);
  }

  json::value fetch_manifest(const ImageReference& image, const std::string& reference, const std::string& expected_digest,
                             std::string& media_type) {
    std::string body;
    const HttpResponse response = get(image, "/manifests/" + reference, {{"Accept", kManifestTypes}},
                                      [&](std::string_view chunk) { body.append(chunk); }, kMaxManifest);
    if (response.status != 200) fail(image, "manifest " + reference, response);
    last_manifest_digest_ = sha256_digest(body);
    if (!expected_digest.empty()) {
      Digester check(expected_digest, "image " + image.canonical());
      check.update(body);
      if (check.finish() != expected_digest)
        throw Error(Errc::invalid_argument, "image " + image.canonical() + ": the manifest the registry sent for " +
                                                expected_digest + " does not match that digest");
      last_manifest_digest_ = expected_digest;
    }
    media_type = response.header("content-type");
    boost::system::error_code ec;
    json::value document = json::parse(body, ec);
    if (ec || !document.is_object())
      throw Error(Errc::invalid_argument, "image " + image.canonical() + ": manifest " + reference + " is not a JSON object");
    if (const std::string declared = string_field(document.as_object(), "mediaType"); !declared.empty()) media_type = declared;
    if (const json::value* version = document.as_object().if_contains("schemaVersion"); version != nullptr && *version == 1)
      throw Error(Errc::unsupported, "image " + image.canonical() + " has a schema 1 manifest, which hutch does not read; "
                                         "push it again with a current docker");
    return document;
  }

  static bool is_index(const json::value& document, const std::string& media_type) {
    return media_type.find("index") != std::string::npos || media_type.find("manifest.list") != std::string::npos ||
           (media_type.empty() && document.as_object().contains("manifests"));
  }

  std::string pick_platform(const ImageReference& image, const json::value& index) {
    const Platform want = host_platform();
    const json::value* manifests = index.as_object().if_contains("manifests");
    if (manifests == nullptr || !manifests->is_array())
      throw Error(Errc::invalid_argument, "image " + image.canonical() + ": its index lists no manifests");
    std::string fallback;  // the right architecture with another variant
    std::vector<std::string> offered;
    for (const json::value& entry : manifests->as_array()) {
      const json::object* object = entry.if_object();
      const json::value* platform = object != nullptr ? object->if_contains("platform") : nullptr;
      if (platform == nullptr || !platform->is_object()) continue;
      const std::string os = string_field(platform->as_object(), "os");
      const std::string architecture = string_field(platform->as_object(), "architecture");
      const std::string variant = string_field(platform->as_object(), "variant");
      offered.push_back(os + "/" + architecture + (variant.empty() ? "" : "/" + variant));
      if (os != "linux" || architecture != want.architecture) continue;
      const std::string digest = descriptor_of(entry, "image " + image.canonical() + " index entry").digest;
      if (want.variant.empty() || variant == want.variant) return digest;
      if (fallback.empty()) fallback = digest;
    }
    if (!fallback.empty()) return fallback;
    std::string list;
    for (const auto& platform : offered) list += (list.empty() ? "" : ", ") + platform;
    throw Error(Errc::not_found, "image " + image.canonical() + " has no variant for linux/" + want.architecture +
                                     (want.variant.empty() ? "" : "/" + want.variant) + " (it offers: " + list + ")");
  }

  static ImageManifest parse_manifest(const ImageReference& image, const json::value& document, const std::string& digest) {
    const json::object& object = document.as_object();
    ImageManifest out;
    out.digest = digest;
    const json::value* config = object.if_contains("config");
    const json::value* layers = object.if_contains("layers");
    if (config == nullptr || layers == nullptr || !layers->is_array())
      throw Error(Errc::invalid_argument, "image " + image.canonical() + ": manifest " + digest + " has no config or layers");
    out.config = descriptor_of(*config, "image " + image.canonical() + " config");
    for (const json::value& layer : layers->as_array())
      out.layers.push_back(descriptor_of(layer, "image " + image.canonical() + " layer"));
    return out;
  }

  // Streams a blob to `sink`, verifying size and digest as it goes.
  void download(const ImageReference& image, const BlobDescriptor& blob, const BodySink& sink, const BlobProgress& progress) {
    const std::string what = "image " + image.canonical() + " blob " + blob.digest;
    Digester digester(blob.digest, what);
    std::uint64_t received = 0;
    const HttpResponse response = get(image, "/blobs/" + blob.digest, {}, [&](std::string_view chunk) {
      received += chunk.size();
      digester.update(chunk);
      sink(chunk);
      if (progress) progress(received);
    }, blob.size);
    if (response.status != 200) fail(image, "blob " + blob.digest, response);
    if (received != blob.size)
      throw Error(Errc::invalid_argument, what + ": received " + std::to_string(received) + " bytes, its descriptor says " +
                                              std::to_string(blob.size));
    if (const std::string actual = digester.finish(); actual != blob.digest)
      throw Error(Errc::invalid_argument, what + ": content does not match its digest (got " + actual +
                                              "); the registry or something on the way altered it");
  }
};

std::shared_ptr<RegistryClient> create(const ImageSettings& settings, std::shared_ptr<spdlog::logger> log) {
  return std::make_shared<OciClient>(settings, std::move(log));
}

}  // namespace

}  // namespace hutch::registry

extern "C" BOOST_SYMBOL_EXPORT const std::uint32_t hutch_registry_api_version = ::hutch::kPluginApiVersion;
BOOST_DLL_ALIAS(hutch::registry::create, hutch_registry_create)
