#include "engine/docker_context.hpp"

#include <hutch/error.hpp>

#include <boost/json.hpp>
#include <openssl/evp.h>

#include <cstdlib>
#include <fstream>
#include <sstream>

namespace hutch::docker {
namespace {

namespace fs = std::filesystem;

std::optional<std::string> read_text(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return std::nullopt;
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

// The docker CLI names a context's directories by the SHA-256 of its name, in hex.
std::string sha256_hex(const std::string& text) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int size = 0;
  if (EVP_Digest(text.data(), text.size(), digest, &size, EVP_sha256(), nullptr) != 1)
    throw Error(Errc::backend, "docker context: SHA-256 is not available from OpenSSL");
  static constexpr char kHex[] = "0123456789abcdef";
  std::string hex;
  for (unsigned int i = 0; i < size; ++i) {
    hex += kHex[digest[i] >> 4];
    hex += kHex[digest[i] & 0xf];
  }
  return hex;
}

}  // namespace

fs::path docker_config_dir() {
  if (const char* dir = std::getenv("DOCKER_CONFIG"); dir != nullptr && *dir != '\0') return dir;
  const char* home = std::getenv("HOME");
  return fs::path(home != nullptr && *home != '\0' ? home : "/root") / ".docker";
}

DockerContext load_context(const fs::path& config_dir, const std::string& name, const std::string& source) {
  const std::string hash = sha256_hex(name);
  const fs::path meta = config_dir / "contexts" / "meta" / hash / "meta.json";
  auto fail = [&](const std::string& why) -> DockerContext {
    throw Error(Errc::config, "docker context '" + name + "' (" + source + "): " + why);
  };
  auto text = read_text(meta);
  if (!text) return fail("no such context (" + meta.string() + " is missing; see `docker context ls`)");
  boost::system::error_code ec;
  auto document = boost::json::parse(*text, ec);
  if (ec || !document.is_object()) return fail(meta.string() + " is not a JSON object");
  const auto* endpoints = document.as_object().if_contains("Endpoints");
  const auto* docker = endpoints != nullptr && endpoints->is_object() ? endpoints->as_object().if_contains("docker") : nullptr;
  const auto* host = docker != nullptr && docker->is_object() ? docker->as_object().if_contains("Host") : nullptr;
  if (host == nullptr || !host->is_string() || host->as_string().empty())
    return fail(meta.string() + " has no Endpoints.docker.Host");
  DockerContext context;
  context.name = name;
  context.host = std::string(host->as_string());
  if (const auto* skip = docker->as_object().if_contains("SkipTLSVerify"); skip != nullptr && skip->is_bool())
    context.skip_tls_verify = skip->as_bool();
  const fs::path tls = config_dir / "contexts" / "tls" / hash / "docker";
  std::error_code ignored;
  if (fs::is_directory(tls, ignored)) context.tls_dir = tls;
  return context;
}

std::optional<DockerContext> selected_context() {
  const fs::path config_dir = docker_config_dir();
  std::string name;
  std::string source;
  if (const char* env = std::getenv("DOCKER_CONTEXT"); env != nullptr && *env != '\0') {
    name = env;
    source = "from DOCKER_CONTEXT";
  } else if (auto text = read_text(config_dir / "config.json")) {
    boost::system::error_code ec;
    auto document = boost::json::parse(*text, ec);
    // A config.json hutch cannot read names no context: the docker CLI's other settings are
    // not hutch's to judge.
    if (!ec && document.is_object())
      if (const auto* current = document.as_object().if_contains("currentContext"); current != nullptr && current->is_string())
        name = std::string(current->as_string());
    source = "currentContext of " + (config_dir / "config.json").string();
  }
  if (name.empty() || name == "default") return std::nullopt;
  return load_context(config_dir, name, source);
}

}  // namespace hutch::docker
