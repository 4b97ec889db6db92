// Image names as the docker CLI resolves them (distribution/reference's normalisation).
#include <hutch/error.hpp>
#include <hutch/registry.hpp>

#include <algorithm>
#include <cctype>

namespace hutch {

namespace {

constexpr std::string_view kDockerHub = "docker.io";

[[noreturn]] void bad_name(std::string_view name, const std::string& why) {
  throw Error(Errc::invalid_argument, "image name '" + std::string(name) + "' is not valid: " + why);
}

bool is_lower_alnum(char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); }

// A path component: [a-z0-9]+ joined by '.', '_', '__' or '-'+.
bool valid_component(std::string_view part) {
  if (part.empty() || !is_lower_alnum(part.front()) || !is_lower_alnum(part.back())) return false;
  std::size_t i = 0;
  while (i < part.size()) {
    if (is_lower_alnum(part[i])) {
      ++i;
      continue;
    }
    const std::size_t start = i;
    while (i < part.size() && !is_lower_alnum(part[i])) ++i;
    const std::string_view separator = part.substr(start, i - start);
    const bool dashes = std::all_of(separator.begin(), separator.end(), [](char c) { return c == '-'; });
    if (separator != "." && separator != "_" && separator != "__" && !dashes) return false;
  }
  return true;
}

// host[:port] with host a DNS name, an IPv4 address or [IPv6].
bool valid_registry(std::string_view host) {
  if (host.empty()) return false;
  for (char c : host)
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '-' || c == ':' || c == '[' || c == ']'))
      return false;
  return host.front() != '-' && host.front() != '.';
}

bool valid_tag(std::string_view tag) {
  if (tag.empty() || tag.size() > 128) return false;
  const auto word = [](char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '_'; };
  if (!word(tag.front())) return false;
  return std::all_of(tag.begin(), tag.end(), [&](char c) { return word(c) || c == '.' || c == '-'; });
}

bool valid_digest(std::string_view digest) {
  const auto colon = digest.find(':');
  if (colon == std::string_view::npos) return false;
  const std::string_view algorithm = digest.substr(0, colon);
  const std::string_view hex = digest.substr(colon + 1);
  const std::size_t want = algorithm == "sha256" ? 64 : algorithm == "sha512" ? 128 : 0;
  return want != 0 && hex.size() == want &&
         std::all_of(hex.begin(), hex.end(), [](char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); });
}

}  // namespace

ImageReference parse_image_reference(std::string_view name) {
  if (name.empty()) bad_name(name, "it is empty");
  if (name.size() > 512) bad_name(name.substr(0, 64), "it is longer than 512 characters");
  ImageReference out;
  std::string_view rest = name;
  if (const auto at = rest.find('@'); at != std::string_view::npos) {
    out.digest = std::string(rest.substr(at + 1));
    if (!valid_digest(out.digest))
      bad_name(name, "digest '" + out.digest + "' is not sha256:<64 hex> or sha512:<128 hex>");
    rest = rest.substr(0, at);
  }
  const auto last_slash = rest.rfind('/');
  if (const auto colon = rest.rfind(':');
      colon != std::string_view::npos && (last_slash == std::string_view::npos || colon > last_slash)) {
    out.tag = std::string(rest.substr(colon + 1));
    if (!valid_tag(out.tag))
      bad_name(name, "tag '" + out.tag + "' is not 1-128 characters of [A-Za-z0-9_.-] starting with a letter, digit or '_'");
    rest = rest.substr(0, colon);
  }
  if (out.tag.empty() && out.digest.empty()) out.tag = "latest";

  const auto first_slash = rest.find('/');
  std::string_view repository = rest;
  if (first_slash != std::string_view::npos) {
    const std::string_view first = rest.substr(0, first_slash);
    const bool is_registry = first.find_first_of(".:") != std::string_view::npos || first == "localhost" ||
                             std::any_of(first.begin(), first.end(), [](char c) { return std::isupper(static_cast<unsigned char>(c)); });
    if (is_registry) {
      if (!valid_registry(first)) bad_name(name, "registry '" + std::string(first) + "' is not host[:port]");
      out.registry = std::string(first);
      repository = rest.substr(first_slash + 1);
    }
  }
  if (out.registry.empty() || out.registry == "index.docker.io") out.registry = std::string(kDockerHub);
  if (repository.empty()) bad_name(name, "the repository is empty");
  std::size_t start = 0;
  for (;;) {
    const auto end = repository.find('/', start);
    const std::string_view part = repository.substr(start, end == std::string_view::npos ? std::string_view::npos : end - start);
    if (!valid_component(part))
      bad_name(name, "repository component '" + std::string(part) +
                         "' must be lower-case letters and digits, joined by '.', '_', '__' or '-'");
    if (end == std::string_view::npos) break;
    start = end + 1;
  }
  // As docker: a bare 64-hex name is an image id (of a snapshot, say), never a repository.
  if (repository.size() == 64 && repository.find_first_not_of("0123456789abcdef") == std::string_view::npos)
    bad_name(name, "a 64-digit hexadecimal name is an image id, not a repository");
  out.repository = std::string(repository);
  if (out.registry == kDockerHub && out.repository.find('/') == std::string::npos)
    out.repository = "library/" + out.repository;
  return out;
}

std::string ImageReference::canonical() const {
  std::string out = registry + "/" + repository;
  if (!tag.empty()) out += ":" + tag;
  if (!digest.empty()) out += "@" + digest;
  return out;
}

std::string ImageReference::manifest_reference() const { return digest.empty() ? tag : digest; }

std::string ImageReference::api_host() const {
  return registry == kDockerHub ? std::string("registry-1.docker.io") : registry;
}

}  // namespace hutch
