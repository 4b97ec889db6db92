// What the E2B handlers share: the API key check, envd's per-sandbox access tokens, the
// template map, the default user, and E2B's error answers.
#pragma once

#include "auto_pause.hpp"
#include "e2b.hpp"

#include <hutch/error.hpp>

#include <boost/json.hpp>

#include <array>
#include <functional>
#include <map>
#include <mutex>
#include <set>
#include <memory>
#include <string>

namespace hutch::server::e2b {

// envd's version the layer reports. 0.6.1: >= 0.5.7 makes the SDK upload with
// application/octet-stream, >= 0.5.2 offers closeStdin, >= 0.4.0 leaves the default user to
// envd; file metadata (0.6.2) and entries in watch events (0.6.3) are refused by the SDK itself.
inline constexpr const char* kEnvdVersion = "0.6.1";
// E2B's default user, which commands and file operations run as unless the SDK names another.
inline constexpr const char* kDefaultUser = "user";
// The label naming a sandbox's E2B template (hutch.* labels are the backends' own); it is not
// part of the metadata E2B shows.
inline constexpr const char* kLabelTemplate = "e2b.template";

class E2b {
 public:
  // Reads or makes the secret envd access tokens are derived from
  // (<state_dir>/serve/e2b-secret, mode 0600), so tokens survive a restart of the service;
  // adds ensure_default_user to the pools the templates name (Pools::prepare).
  static std::shared_ptr<E2b> make(Service& service, E2bOptions options);

  Service& service() { return service_; }
  // What E2B template `id` stands for (an image or a pool); Errc::not_found naming
  // [serve.e2b.templates] for an id it does not map (but "base": the default image).
  E2bTemplate template_of(const std::string& id) const;
  // Whether `id` is a template template_of answers for (mapped, or "base"); any other id a
  // create names may be a snapshot's.
  bool is_template(const std::string& id) const { return id == "base" || options_.templates.contains(id); }
  // HMAC-SHA256(secret, sandbox id) in hex: what envd requests for that sandbox must carry in
  // X-Access-Token. Stateless, so every sandbox has one without a table to keep.
  std::string access_token(const std::string& sandbox_id) const;

  // The control plane's caller: the service token sent as X-API-Key (tenants as for /v1).
  Caller api_caller(Context& context) const;
  // api_caller, set as context.caller, with a place under the request caps held for the rest
  // of the request (context.held; 429 past a cap) as the router holds one for /v1's routes.
  void admit_api_caller(Context& context) const;
  // The sandbox an envd request is for: E2b-Sandbox-Id, checked against X-Access-Token. The
  // request then counts under the request caps as one of the token that created the sandbox
  // (context.caller, context.held; 429 past a cap).
  OwnedSandbox envd_sandbox(Context& context) const;
  // The sandbox a request for another of its ports is for: with its access token (X-Access-Token
  // or E2b-Traffic-Access-Token), or a service token whose caller may see it (Authorization:
  // Bearer or X-API-Key; none needed when the service has no tokens).
  OwnedSandbox port_sandbox(Context& context, const std::string& sandbox_id) const;
  // The domain of sandboxes' port host names ([serve.e2b] domain), or empty.
  const std::string& domain() const { return options_.domain; }
  // The user an envd request runs as: the Basic Authorization user, or E2B's default one.
  static std::string envd_user(Context& context);

  // Makes E2B's default user in the sandbox (uid 1000, home /home/user) if the image lacks it,
  // and notes on the way whether it has /bin/bash (one command for both). Runs once per
  // sandbox: the pools E2B's templates name run it before a sandbox is ready (Pools::prepare),
  // so their hand-outs skip it. Throws what Handle::exec throws; a command that fails is
  // logged (the sandbox works on, without that user) and tried again at the next call.
  void ensure_default_user(Handle& handle);
  // Whether the sandbox has /bin/bash, which the SDK runs every command with (E2B's templates
  // have it): an image without it (busybox) gets /bin/sh, which takes the same -l -c / -i -l.
  // Known from ensure_default_user, else asked once per sandbox.
  bool has_bash(Handle& handle);
  // Drops what the layer noted about a removed sandbox.
  void forget(const std::string& sandbox_id);

  // The sandbox's E2B timeout from now (lifecycle.cpp): one whose lifecycle pauses at the
  // timeout gets an AutoPause deadline, any other a ttl (Handle::set_lifetime), which ends it.
  void apply_timeout(const OwnedSandbox& owned, Duration timeout) const;
  // When an auto-pause sandbox pauses unless its timeout changes (running ones only).
  std::optional<AutoPause::Clock::time_point> pause_deadline(const std::string& sandbox_id) const;
  // Resumes a sandbox E2B sees paused (paused_for_e2b): unpauses it, or starts it after a
  // filesystem-only pause, then applies `timeout` (unset: the create's for an auto-pause
  // sandbox; a ttl left as it is otherwise). Returns false, changing nothing, for a running one.
  bool resume(const OwnedSandbox& owned, std::optional<Duration> timeout) const;
  // Stops counting an auto-pause sandbox's timeout (it was paused by hand).
  void disarm_timeout(const std::string& sandbox_id) { auto_pause_.disarm(sandbox_id); }

 private:
  E2b(Service& service, E2bOptions options);
  // Sets the caller of a request with the sandbox's access token: the token that created the
  // sandbox (hutch.token, hutch.tenant), and takes its place under the request caps.
  void admit_owner(Context& context, const OwnedSandbox& owned) const;
  // Whether `presented` is sandbox `sandbox_id`'s access token (compared in constant time).
  bool is_access_token(const std::string& sandbox_id, const std::string& presented) const;
  // autoResume: an envd or port request for a paused sandbox whose lifecycle says so resumes it.
  void resume_for_traffic(const OwnedSandbox& owned) const;
  // AutoPause's deadline came: pauses the sandbox (or stops it, for a filesystem-only pause).
  void reach_timeout(const std::string& sandbox_id);
  // After a restart: the running auto-pause sandboxes of this service get their timeout again.
  void rearm_timeouts();

  Service& service_;
  E2bOptions options_;
  std::array<unsigned char, 32> secret_{};
  std::mutex shells_mutex_;
  std::map<std::string, bool> has_bash_;  // by sandbox id
  std::set<std::string> users_made_;       // ensure_default_user ran (by sandbox id)
  // Last: its thread calls reach_timeout, so it ends before the members above.
  mutable AutoPause auto_pause_;
};

// Reads what is left of the request body (up to the JSON body limit) before an error answer:
// a client still sending a body it was refused (the SDK's fetch) would otherwise see the
// connection reset instead of the answer.
void drain_body(Context& context);

// An error as E2B's API answers it, {"code": <HTTP status>, "message": "..."} (also inside a
// fork's result).
boost::json::object error_json(const Error& error);

// A handler of the control plane or of envd's HTTP routes: errors are answered as E2B's API
// does, {"code": <HTTP status>, "message": "..."}, which the SDKs turn into their own errors.
Handler rest_handler(std::shared_ptr<E2b> e2b, std::function<void(E2b&, Context&)> body);

// Route handlers (control_plane.cpp, envd_http.cpp, envd_filesystem.cpp, envd_process.cpp,
// envd_ports.cpp).
void add_control_plane_routes(Router& router, const std::shared_ptr<E2b>& e2b);
void add_envd_http_routes(Router& router, const std::shared_ptr<E2b>& e2b);
void add_filesystem_routes(Router& router, const std::shared_ptr<E2b>& e2b);
void add_process_routes(Router& router, const std::shared_ptr<E2b>& e2b);
void add_port_routes(Router& router, const std::shared_ptr<E2b>& e2b);
// The answers for paths under /e2b no route serves, in E2B's and Connect's error formats.
void add_unknown_routes(Router& router, const std::shared_ptr<E2b>& e2b);

}  // namespace hutch::server::e2b
