#include "images.hpp"

#include "engine/query.hpp"
#include "engine_quirks.hpp"
#include "labels.hpp"
#include "managed_images.hpp"

#include <hutch/error.hpp>
#include <hutch/image_defaults.hpp>

#include <boost/json.hpp>
#include <spdlog/spdlog.h>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <algorithm>
#include <cstring>
#include <functional>
#include <vector>

namespace hutch::docker {
namespace {

constexpr Duration kPullTimeout = std::chrono::minutes(30);

// Reads the Engine's JSON-lines progress stream; throws at the first {"error": ...}. Each
// event goes to `on_event` when given, else each changed status is redrawn on stderr when
// `show`.
void consume_progress(BodyReader& reader, const std::string& what, Errc error_code, bool show,
                      const std::function<void(const PullProgress&)>& on_event = {}) {
  std::string pending;
  std::string last_status;
  auto handle_line = [&](std::string_view line) {
    if (line.empty()) return;
    boost::system::error_code ec;
    auto value = boost::json::parse(line, ec);
    if (ec || !value.is_object()) return;
    const auto& object = value.as_object();
    if (auto* error = object.if_contains("error"); error && error->is_string())
      throw Error(error_code, what + ": " + std::string(error->as_string()));
    if (!show && !on_event) return;
    PullProgress event;
    if (auto* id = object.if_contains("id"); id && id->is_string()) event.layer = std::string(id->as_string());
    if (auto* s = object.if_contains("status"); s && s->is_string()) event.status = std::string(s->as_string());
    if (auto* detail = object.if_contains("progressDetail"); detail && detail->is_object()) {
      const auto number = [&](const char* key) -> std::uint64_t {
        auto* field = detail->as_object().if_contains(key);
        return field && field->is_number() ? field->to_number<std::uint64_t>() : 0;
      };
      event.current = number("current");
      event.total = number("total");
    }
    if (on_event) {
      on_event(event);
      return;
    }
    std::string status = event.layer.empty() ? event.status : event.layer + ": " + event.status;
    if (auto* p = object.if_contains("progress"); p && p->is_string()) status += " " + std::string(p->as_string());
    if (status != last_status) {
      std::fprintf(stderr, "\r\033[K%s", status.c_str());
      last_status = status;
    }
  };
  for (auto piece = reader.next(); !piece.empty(); piece = reader.next()) {
    pending.append(piece);
    std::size_t newline;
    while ((newline = pending.find('\n')) != std::string::npos) {
      handle_line(std::string_view(pending).substr(0, newline));
      pending.erase(0, newline + 1);
    }
  }
  handle_line(pending);
  if (show && !on_event && !last_status.empty()) std::fprintf(stderr, "\n");
}

std::string hex_hash(const std::string& text) {
  char buffer[17];
  std::snprintf(buffer, sizeof buffer, "%016zx", std::hash<std::string>{}(text));
  return buffer;
}

}  // namespace

std::pair<std::string, std::string> split_image_reference(const std::string& reference) {
  if (reference.find('@') != std::string::npos) return {reference, ""};
  auto slash = reference.rfind('/');
  auto colon = reference.rfind(':');
  if (colon != std::string::npos && (slash == std::string::npos || colon > slash))
    return {reference.substr(0, colon), reference.substr(colon + 1)};
  return {reference, "latest"};
}

bool image_exists(Context& context, const std::string& reference) {
  Request request;
  request.target = Target("/images").segment(reference).str() + "/json";
  request.what = "inspect image '" + reference + "'";
  try {
    context.client->call(request);
    return true;
  } catch (const Error& e) {
    if (e.code() == Errc::not_found) return false;
    throw;
  }
}

ImageDefaults image_defaults(Context& context, const std::string& reference) {
  Request request;
  request.target = Target("/images").segment(reference).str() + "/json";
  request.what = "inspect image '" + reference + "'";
  auto image = context.client->call_json(request);
  ImageDefaults defaults;
  const auto* config = image.is_object() ? image.as_object().if_contains("Config") : nullptr;
  if (config == nullptr || !config->is_object()) return defaults;
  auto strings = [&](const char* key) {
    std::vector<std::string> out;
    if (auto* value = config->as_object().if_contains(key); value && value->is_array())
      for (const auto& item : value->as_array())
        if (item.is_string()) out.emplace_back(item.as_string());
    return out;
  };
  auto text = [&](const char* key) {
    auto* value = config->as_object().if_contains(key);
    return value && value->is_string() ? std::string(value->as_string()) : std::string();
  };
  defaults.entrypoint = strings("Entrypoint");
  defaults.cmd = strings("Cmd");
  defaults.env = env_from_entries(strings("Env"));
  defaults.workdir = text("WorkingDir");
  defaults.user = text("User");
  return defaults;
}

std::string pull_image(Context& context, const std::string& reference,
                       const std::function<void(const PullProgress&)>& progress) {
  auto [name, tag] = split_image_reference(reference);
  Target target("/images/create");
  target.add("fromImage", name);
  if (!tag.empty()) target.add("tag", tag);
  Request request;
  request.method = Method::post;
  request.target = target.str();
  request.what = "pull image '" + reference + "'";
  request.timeout = kPullTimeout;
  if (auto auth = registry_auth_for(context.config, reference)) request.headers.emplace_back("X-Registry-Auth", *auth);
  std::unique_ptr<BodyReader> reader;
  try {
    reader = context.client->open_reader(request);
  } catch (const Error& e) {
    // The daemon answers 404 for unknown images and 500 for refused access before streaming.
    if (e.code() == Errc::not_found || e.code() == Errc::backend || e.code() == Errc::permission_denied)
      throw Error(Errc::not_found, std::string(e.what()) + " (is the name right, is the registry reachable, "
                                                           "and do [images.auth] or ~/.docker/config.json grant access?)");
    throw;
  }
  context.logger->info("docker: pulling image '{}'", reference);
  consume_progress(*reader, "pull image '" + reference + "'", Errc::not_found, ::isatty(2) == 1, progress);
  Request inspect;
  inspect.target = Target("/images").segment(reference).str() + "/json";
  inspect.what = "inspect the pulled image '" + reference + "'";
  const auto image = context.client->call_json(inspect);
  record_managed_image(context, reference);
  return std::string(image.at("Id").as_string());
}

void import_rootfs_stream(Context& context, const std::string& reference, const std::string& what,
                          const std::function<void(const ChunkSink&)>& produce) {
  auto [name, tag] = split_image_reference(reference);
  Target target("/images/create");
  if (import_ignores_tag_parameter(context.client->engine()))
    target.add("fromSrc", "-").add("repo", name + ":" + (tag.empty() ? "latest" : tag));
  else
    target.add("fromSrc", "-").add("repo", name).add("tag", tag.empty() ? "latest" : tag);
  target.add("changes", "ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin");
  target.add("changes", std::string("LABEL ") + label::kImported + "=true");
  Request request;
  request.method = Method::post;
  request.target = target.str();
  request.content_type = "application/x-tar";
  request.what = what;
  request.timeout = kPullTimeout;
  auto writer = context.client->open_writer(request);
  produce([&](std::string_view chunk) {
    writer->write(chunk);
    return true;
  });
  auto response = writer->finish();
  // The body is a progress stream; an import error is reported inside it with status 200.
  for (std::size_t start = 0; start < response.body.size();) {
    auto end = response.body.find('\n', start);
    if (end == std::string::npos) end = response.body.size();
    boost::system::error_code ec;
    auto value = boost::json::parse(std::string_view(response.body).substr(start, end - start), ec);
    if (!ec && value.is_object())
      if (auto* error = value.as_object().if_contains("error"); error && error->is_string())
        throw Error(Errc::backend, request.what + ": " + std::string(error->as_string()));
    start = end + 1;
  }
}

void import_rootfs(Context& context, const std::string& tar_path, const std::string& reference) {
  const std::string what = "import '" + tar_path + "' as image '" + reference + "'";
  int fd = ::open(tar_path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    throw Error(errno == ENOENT ? Errc::not_found : Errc::io,
                "import image '" + reference + "': cannot open '" + tar_path + "': " + std::strerror(errno));
  struct FdCloser {
    int fd;
    ~FdCloser() { ::close(fd); }
  } closer{fd};
  import_rootfs_stream(context, reference, what, [&](const ChunkSink& sink) {
    std::vector<char> buffer(256 * 1024);
    for (;;) {
      ssize_t n = ::read(fd, buffer.data(), buffer.size());
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) throw Error(Errc::io, what + ": reading the tarball failed: " + std::strerror(errno));
      if (n == 0) break;
      sink(std::string_view(buffer.data(), static_cast<std::size_t>(n)));
    }
  });
}

std::string ensure_image(Context& context, const std::string& reference) {
  if (reference.starts_with("tar:")) {
    std::string path = reference.substr(4);
    struct stat info {};
    if (::stat(path.c_str(), &info) != 0)
      throw Error(Errc::not_found, "image '" + reference + "': cannot read the tarball '" + path +
                                       "': " + std::strerror(errno));
    std::string imported = "hutch-import:" + hex_hash(path + "\n" + std::to_string(info.st_size) + "\n" +
                                                    std::to_string(info.st_mtim.tv_sec) + "." +
                                                    std::to_string(info.st_mtim.tv_nsec));
    if (!image_exists(context, imported)) import_rootfs(context, path, imported);
    return imported;
  }
  switch (context.config.pull) {
    case PullPolicy::always:
      pull_image(context, reference);
      return reference;
    case PullPolicy::missing:
      if (!image_exists(context, reference)) pull_image(context, reference);
      return reference;
    case PullPolicy::never:
      if (!image_exists(context, reference))
        throw Error(Errc::not_found, "image '" + reference +
                                         "' is not present on the docker host and the pull policy ([images] pull) is "
                                         "\"never\"; import or pull it first (hutch pull), or change the pull policy");
      return reference;
  }
  return reference;
}

boost::json::array images_with_labels(Context& context, const std::vector<std::string>& label_filters,
                                      const std::string& what) {
  Request request;
  request.target = "/images/json";
  if (!label_filters.empty()) request.target = Target("/images/json").add("filters", filters_json({{"label", {label_filters.front()}}})).str();
  request.what = what;
  auto listed = context.client->call_json(request);
  boost::json::array out;
  if (!listed.is_array()) return out;
  for (auto& item : listed.as_array()) {
    const auto* image = item.if_object();
    if (image == nullptr) continue;
    if (carries_labels(labels_of(image->if_contains("Labels")), label_filters)) out.push_back(std::move(item));
  }
  return out;
}

}  // namespace hutch::docker
