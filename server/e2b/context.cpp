#include "context.hpp"

#include "connect_protocol.hpp"
#include "http_error.hpp"
#include "pools.hpp"

#include <hutch/base64.hpp>
#include <hutch/error.hpp>
#include <hutch/fs.hpp>
#include <hutch/handle.hpp>
#include <hutch/log.hpp>

#include <openssl/crypto.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>

#include <spdlog/spdlog.h>

#include <fcntl.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

namespace hutch::server::e2b {

namespace json = boost::json;

namespace {

std::string to_hex(const unsigned char* data, std::size_t size) {
  static const char* digits = "0123456789abcdef";
  std::string text;
  for (std::size_t i = 0; i < size; ++i) {
    text += digits[data[i] >> 4];
    text += digits[data[i] & 15];
  }
  return text;
}

// <state_dir>/serve/e2b-secret: 32 random bytes, made on first start, readable by the service
// only (whoever reads it can make any sandbox's envd access token).
std::array<unsigned char, 32> load_secret(const std::string& state_dir) {
  const std::filesystem::path dir = std::filesystem::path(state_dir) / "serve";
  const std::filesystem::path file = dir / "e2b-secret";
  std::array<unsigned char, 32> secret{};
  if (std::ifstream in(file, std::ios::binary); in && in.read(reinterpret_cast<char*>(secret.data()), secret.size()))
    return secret;
  std::filesystem::create_directories(dir);
  if (::RAND_bytes(secret.data(), static_cast<int>(secret.size())) != 1)
    throw Error(Errc::io, "cannot make the E2B access-token secret: no randomness from OpenSSL");
  const std::string temp = (dir / "e2b-secret.tmp").string();
  const int fd = ::open(temp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) throw Error(Errc::io, "cannot write the E2B access-token secret to " + temp);
  const bool written = ::write(fd, secret.data(), secret.size()) == static_cast<ssize_t>(secret.size());
  ::close(fd);
  if (!written) throw Error(Errc::io, "cannot write the E2B access-token secret to " + temp);
  std::filesystem::rename(temp, file);
  return secret;
}

}  // namespace

E2b::E2b(Service& service, E2bOptions options)
    : service_(service),
      options_(std::move(options)),
      secret_(load_secret(service.config().state_dir)),
      auto_pause_([this](const std::string& sandbox_id) { reach_timeout(sandbox_id); }) {}

std::shared_ptr<E2b> E2b::make(Service& service, E2bOptions options) {
  auto e2b = std::shared_ptr<E2b>(new E2b(service, std::move(options)));
  // E2B's user is made while a pool's sandbox waits, not at the hand-out. Members made before
  // this (the first fill starts with the service) get it at their hand-out instead.
  std::weak_ptr<E2b> weak = e2b;
  for (const auto& [id, chosen] : e2b->options_.templates)
    if (!chosen.pool.empty())
      service.pools().prepare(chosen.pool, [weak](Handle& handle) {
        if (auto self = weak.lock()) self->ensure_default_user(handle);
      });
  e2b->rearm_timeouts();
  return e2b;
}

E2bTemplate E2b::template_of(const std::string& id) const {
  if (auto mapped = options_.templates.find(id); mapped != options_.templates.end()) return mapped->second;
  if (id == "base") return E2bTemplate{service_.config().defaults.image, ""};
  throw Error(Errc::not_found, "template '" + id +
                                   "' is not known to this service: map it to an image in [serve.e2b.templates] "
                                   "(hutch builds no E2B templates), and no snapshot of the caller's has that id");
}

std::string E2b::access_token(const std::string& sandbox_id) const {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int size = 0;
  if (::HMAC(::EVP_sha256(), secret_.data(), static_cast<int>(secret_.size()),
             reinterpret_cast<const unsigned char*>(sandbox_id.data()), sandbox_id.size(), digest, &size) == nullptr)
    throw Error(Errc::backend, "cannot compute the envd access token of sandbox " + sandbox_id);
  return to_hex(digest, size);
}

Caller E2b::api_caller(Context& context) const {
  const auto key = context.request().header("x-api-key");
  if (!key || key->empty()) {
    try {
      return service_.authenticate("");  // the operator, when the service has no tokens
    } catch (const Error&) {
      throw Error(Errc::unauthenticated, "this service needs an API key: set E2B_API_KEY to one of its tokens");
    }
  }
  try {
    return service_.authenticate("Bearer " + *key);
  } catch (const Error&) {
    throw Error(Errc::unauthenticated, "the API key (X-API-Key, E2B_API_KEY) is not one of this service's tokens");
  }
}

void E2b::admit_api_caller(Context& context) const {
  context.caller = api_caller(context);
  context.held = service_.caps().take_request(context.caller);
}

OwnedSandbox E2b::envd_sandbox(Context& context) const {
  const auto id = context.request().header("e2b-sandbox-id");
  if (!id || id->empty())
    throw Error(Errc::invalid_argument, "envd requests need the header E2b-Sandbox-Id naming the sandbox");
  // Requests for other ports went to envd_ports.cpp's routes.
  const auto presented = context.request().header("x-access-token");
  if (!presented || !is_access_token(*id, *presented))
    throw Error(Errc::unauthenticated, "sandbox " + *id + ": missing or wrong X-Access-Token (the envdAccessToken "
                                           "the E2B API returned when the sandbox was created or connected)");
  // The token proves the caller got it from the control plane, which checked the tenant.
  OwnedSandbox owned = service_.find(Caller{"e2b-envd", std::nullopt}, *id);
  admit_owner(context, owned);
  resume_for_traffic(owned);
  return owned;
}

void E2b::admit_owner(Context& context, const OwnedSandbox& owned) const {
  const Labels labels = service_.labels_of(owned.handle->id(), owned.handle->spec().labels);
  Caller owner{"e2b-envd", std::nullopt};
  if (auto token = labels.find(kLabelToken); token != labels.end()) owner.name = token->second;
  if (auto tenant = labels.find(kLabelTenant); tenant != labels.end()) owner.tenant = tenant->second;
  context.caller = owner;
  context.held = service_.caps().take_request(owner);
}

bool E2b::is_access_token(const std::string& sandbox_id, const std::string& presented) const {
  const std::string expected = access_token(sandbox_id);
  return presented.size() == expected.size() &&
         ::CRYPTO_memcmp(presented.data(), expected.data(), expected.size()) == 0;
}

OwnedSandbox E2b::port_sandbox(Context& context, const std::string& sandbox_id) const {
  for (const char* header : {"x-access-token", "e2b-traffic-access-token"})
    if (auto presented = context.request().header(header); presented && is_access_token(sandbox_id, *presented)) {
      OwnedSandbox owned = service_.find(Caller{"e2b-envd", std::nullopt}, sandbox_id);
      admit_owner(context, owned);
      resume_for_traffic(owned);
      return owned;
    }
  Caller caller;
  try {
    const std::string& authorization = context.request().authorization;
    caller = authorization.empty() ? api_caller(context) : service_.authenticate(authorization);
  } catch (const Error& error) {
    if (error.code() != Errc::unauthenticated) throw;
    throw Error(Errc::unauthenticated, "a request for a port of sandbox " + sandbox_id +
                                           " needs the sandbox's envdAccessToken (X-Access-Token or "
                                           "E2b-Traffic-Access-Token) or a token of this service (Authorization: "
                                           "Bearer, X-API-Key)");
  }
  context.caller = caller;
  context.held = service_.caps().take_request(caller);
  OwnedSandbox owned = service_.find(caller, sandbox_id);
  resume_for_traffic(owned);
  return owned;
}

std::string E2b::envd_user(Context& context) {
  const auto authorization = context.request().authorization;
  constexpr std::string_view scheme = "Basic ";
  if (authorization.size() <= scheme.size() || std::string_view(authorization).substr(0, scheme.size()) != scheme)
    return kDefaultUser;
  std::string decoded;
  try {
    decoded = base64_decode(std::string_view(authorization).substr(scheme.size()));
  } catch (const Error&) {
    throw Error(Errc::invalid_argument, "the Authorization header's Basic credentials are not base64");
  }
  const std::string user = decoded.substr(0, decoded.find(':'));
  return user.empty() ? kDefaultUser : user;
}

void E2b::ensure_default_user(Handle& handle) {
  {
    std::lock_guard lock(shells_mutex_);
    if (users_made_.count(handle.id())) return;  // a pool made it ready so
  }
  ExecRequest request;
  request.user = "0";
  // useradd/adduser differ between images and refuse a uid already taken (the test images have
  // one at 1000): the lines are written directly, as envd's templates have them.
  request.argv = {"/bin/sh", "-c",
                  "id -u user >/dev/null 2>&1 || { shell=/bin/sh; [ -x /bin/bash ] && shell=/bin/bash; "
                  "echo \"user:x:1000:1000:user:/home/user:$shell\" >>/etc/passwd; "
                  "grep -q '^user:' /etc/group 2>/dev/null || echo 'user:x:1000:' >>/etc/group; }; "
                  "[ -d /home/user ] || { mkdir -p /home/user && chown 1000:1000 /home/user; }; "
                  "[ -x /bin/bash ] && echo bash; true"};
  request.timeout = Duration(30000);
  const ExecResult result = handle.exec(request);
  if (result.shell_status() != 0) {
    logger()->warn("sandbox {}: could not make E2B's default user 'user' (status {}): {}", handle.id(),
                   result.shell_status(), result.stderr_data);
    return;
  }
  std::lock_guard lock(shells_mutex_);
  has_bash_[handle.id()] = result.stdout_data.find("bash") != std::string::npos;
  users_made_.insert(handle.id());
}

bool E2b::has_bash(Handle& handle) {
  const std::string id = handle.id();
  {
    std::lock_guard lock(shells_mutex_);
    if (auto known = has_bash_.find(id); known != has_bash_.end()) return known->second;
  }
  const bool found = handle.fs().exists("/bin/bash");
  std::lock_guard lock(shells_mutex_);
  has_bash_[id] = found;
  return found;
}

void drain_body(Context& context) {
  try {
    context.exchange.read_body(context.service.json_body_limit());
  } catch (const Error&) {
    // Too large or cut: the connection closes after the answer, as it would anyway.
  }
}

void E2b::forget(const std::string& sandbox_id) {
  auto_pause_.disarm(sandbox_id);
  std::lock_guard lock(shells_mutex_);
  has_bash_.erase(sandbox_id);
  users_made_.erase(sandbox_id);
}

void add_unknown_routes(Router& router, const std::shared_ptr<E2b>& e2b) {
  // envd: a Connect path (/e2b/envd/<package.Service>/<Method>) in Connect's error format,
  // anything else as envd's HTTP API answers, {"code", "message"}.
  router.add("*", "/e2b/envd/{*}", rest_handler(e2b, [](E2b&, Context& context) {
    const auto parts = path_components(context.request().path);
    if (parts.size() == 4 && parts[2].find('.') != std::string::npos) return answer_unknown_procedure(context);
    throw Error(Errc::not_found, "envd has no route " + context.request().method + " " + context.request().path);
  }), /*open=*/true);
  // The control plane: authenticated first (a caller without a key learns nothing), then E2B's
  // error shape, {"code": 404, "message": "..."}.
  router.add("*", "/e2b/{*}", rest_handler(e2b, [](E2b& self, Context& context) {
    self.admit_api_caller(context);
    throw Error(Errc::not_found, "no route " + context.request().method + " " + context.request().path +
                                     " in E2B's API as this service serves it (E2B_API_URL is http://HOST:PORT/e2b)");
  }), /*open=*/true);
}

json::object error_json(const Error& error) {
  return json::object{{"code", http_status(error.code())}, {"message", error.what()}};
}

Handler rest_handler(std::shared_ptr<E2b> e2b, std::function<void(E2b&, Context&)> body) {
  return [e2b = std::move(e2b), body = std::move(body)](Context& context) {
    try {
      body(*e2b, context);
    } catch (const Error& error) {
      if (context.exchange.responded()) throw;
      drain_body(context);
      const unsigned status = http_status(error.code());
      // A caller over a cap is told when to try again, as on /v1 (the SDK retries on it).
      const Headers retry{{"Retry-After", std::to_string(Caps::kRetryAfterSeconds)}};
      context.exchange.respond(status, "application/json",
                               json::serialize(error_json(error)),
                               status == 429 ? retry : Headers{});
    }
  };
}


}  // namespace hutch::server::e2b

namespace hutch::server {

void add_e2b_routes(Router& router, Service& service, const E2bOptions& options) {
  auto e2b = e2b::E2b::make(service, options);
  e2b::add_control_plane_routes(router, e2b);
  e2b::add_envd_http_routes(router, e2b);
  e2b::add_filesystem_routes(router, e2b);
  e2b::add_process_routes(router, e2b);
  e2b::add_port_routes(router, e2b);  // guarded: tried before the routes above
  e2b::add_unknown_routes(router, e2b);  // last: what no route above serves
}

}  // namespace hutch::server
