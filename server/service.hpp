// Service: what every request handler shares — the loaded backends, the tokens, this service's
// instance id — and the one place that decides which sandboxes a caller may see.
#pragma once

#include "caps.hpp"
#include "events.hpp"
#include "lifetime_watch.hpp"
#include "metrics.hpp"
#include "process_registry.hpp"
#include "tokens.hpp"

#include <hutch/backend.hpp>
#include <hutch/config.hpp>
#include <hutch/service_labels.hpp>

#include <boost/asio/thread_pool.hpp>

#include <atomic>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <string_view>
#include <vector>

namespace hutch::server {

class Pools;
struct PoolOptions;

struct OwnedSandbox {
  SandboxBackend* backend = nullptr;
  std::shared_ptr<Handle> handle;
};

class Service {
 public:
  // Loads the default backend and each one with a [backends.<name>] table; one that does not
  // load is left out with a warning (an error when none loads). Reads or makes the instance id
  // (<state_dir>/serve/instance-id).
  Service(const Config& config, Tokens tokens);
  ~Service();

  const Config& config() const { return config_; }
  // Bytes of a JSON request body; past it, Errc::too_large (413).
  std::uint64_t json_body_limit() const { return json_body_limit_; }
  void set_json_body_limit(std::uint64_t limit) { json_body_limit_ = limit; }
  // The caps on requests, streams and sandboxes (caps.hpp); none until set.
  void set_caps(const CapOptions& options) { caps_ = std::make_unique<Caps>(options); }
  Caps& caps() { return *caps_; }
  // A place under the sandbox caps for a create by `caller`, held until the create returned
  // (Errc::rate_limited past one). The service's sandboxes are counted through the backends'
  // lists (hutch.service, hutch.token labels), those being removed or ready in a pool left out.
  Caps::Slot reserve_sandbox(const Caller& caller);

  const std::string& instance_id() const { return instance_id_; }
  const std::string& default_backend() const { return default_backend_; }
  // The loaded backends, default first.
  const std::vector<std::pair<std::string, std::shared_ptr<SandboxBackend>>>& backends() const { return backends_; }
  // Errc::not_found naming the loaded ones.
  SandboxBackend& backend(const std::string& name) const;

  // The caller an Authorization header value stands for. Without tokens every caller is the
  // local operator (the Unix socket's permissions are the access control); with tokens,
  // Errc::unauthenticated unless it is "Bearer <a known token>".
  Caller authenticate(std::string_view authorization) const;

  // The sandbox `id` if the caller may see it: every sandbox for the operator, for a tenant only
  // those labelled hutch.tenant=<tenant>. Errc::not_found otherwise, with the same message as
  // for an id that does not exist (a tenant learns nothing about others' sandboxes).
  OwnedSandbox find(const Caller& caller, const std::string& id);
  // Whether the caller may see a sandbox with these labels.
  static bool visible(const Caller& caller, const Labels& labels);
  // Keeps the handle of a sandbox it made or found, so later requests on it reuse it (a
  // backend's handle keeps its connections to the sandbox: asking the backend to resume the
  // sandbox at every request cost several milliseconds each).
  void remember(SandboxBackend& backend, std::shared_ptr<Handle> handle);
  // Forgets the handle; returns it when it was known.
  std::optional<OwnedSandbox> forget(const std::string& id);

  // What clients can watch (GET /v1/events, GET /metrics; routes_events.cpp, routes_metrics.cpp).
  EventHub& events() { return events_; }
  Metrics& metrics() { return metrics_; }
  // A sandbox made for a client (created, forked, restored, handed out by a pool): remembered,
  // announced as "created" with `details`, and its lifetimes watched ("expired" events).
  void made(SandboxBackend& backend, std::shared_ptr<Handle> handle, boost::json::object details = {});
  // Publishes event `type` about the sandbox (its labels decide which tenant sees it).
  void announce(const std::string& type, const OwnedSandbox& owned, boost::json::object details = {});
  // Looks at the sandbox's state again after a change through the service (start, stop, new
  // lifetimes, a launch: `launched`), so the lifetime watch compares later changes with it.
  void watch(const OwnedSandbox& owned, bool launched = false) { lifetimes_->watch(owned.handle, launched); }
  // The name the service loaded `backend` under.
  std::string backend_name(const SandboxBackend* backend) const;
  // Streamed commands running (add_stream).
  std::size_t streams_open();

  // The spec as the service makes it: [defaults] filled in (ttl and idle_timeout too),
  // detached, labelled with the instance id, the caller's tenant and token (hutch.token, which
  // the sandbox caps count). Creates go through create_sandbox (sandbox_creation.hpp).
  SandboxSpec owned_spec(const Caller& caller, SandboxSpec spec) const;
  // A sandbox's info as clients see it: the backend's, with the labels a pool's hand-out gave
  // laid over its labels (pools.hpp). Every answer that shows a sandbox goes through it.
  SandboxInfo info(const OwnedSandbox& owned);
  // `labels` of sandbox `id` with its hand-out labels laid over them.
  Labels labels_of(const std::string& id, Labels labels) const;

  // The warm pools ([serve.pools.*], pools.hpp): started once the service is made (it removes
  // what an earlier run left ready), stopped when the service ends (ready members destroyed).
  // Errc::not_found for pools() when none is started.
  void start_pools(const std::vector<PoolOptions>& pools);
  void stop_pools();
  Pools& pools();
  bool has_pools() const { return pools_ != nullptr; }
  // The sandboxes the caller may see whose labels match `filter`, on every backend or on
  // `backend_name` (Errc::not_found for an unknown one).
  std::vector<SandboxInfo> list(const Caller& caller, Filter filter,
                                const std::optional<std::string>& backend_name = std::nullopt);
  // Removes the sandbox (remove_in_background), its registered commands with it.
  void remove(const OwnedSandbox& owned);

  // Commands that outlive their request (process_registry.hpp).
  ProcessRegistry& processes() { return processes_; }

  // DELETE answers once the sandbox is marked for removal; the removal itself (which may wait a
  // stop grace for its processes) runs on a removal thread. From the mark on, find() does not
  // see the sandbox and being_removed() is true, so listings leave it out. A removal that fails
  // is logged and the mark taken back: the sandbox shows again and can be deleted again.
  void remove_in_background(OwnedSandbox owned);
  bool being_removed(const std::string& id);
  // Whether clients do not see the sandbox: being removed, or a pool's ready member.
  bool hidden(const std::string& id, const Labels& labels);
  // Waits until every removal started has finished: the service ends only after them.
  void finish_removals();
  // Destroys every sandbox this service made (labelled with its instance id), on every
  // backend: `hutch serve --destroy-on-exit`. Failures are logged; the rest go on.
  void destroy_own_sandboxes();

  // The drain on SIGTERM: no connection is kept for another request, the commands streamed to
  // clients are ended (SIGKILL: each client gets the exit message and a normal close), and the
  // server waits until requests_running() is 0. Sandboxes stay.
  void begin_drain();
  bool draining() const { return draining_; }
  // Counted by the connection around each request's handler.
  void request_started() { ++requests_running_; }
  void request_ended() { --requests_running_; }
  int requests_running() const { return requests_running_; }
  // A streamed command registers its process for as long as it streams, so a drain can end it.
  void add_stream(Process& process);
  void remove_stream(Process& process);

  // Snapshots: the operator sees every snapshot of every backend; a tenant only those it took
  // through this service since it started (kept in memory: after a restart a tenant's older
  // snapshots are the operator's to restore or remove). Errc::not_found otherwise.
  void remember_snapshot(const Caller& caller, const std::string& snapshot_id);
  bool snapshot_visible(const Caller& caller, const std::string& snapshot_id);
  // The backend holding snapshot `snapshot_id` if the caller may see it, else nullptr.
  SandboxBackend* find_snapshot_backend(const Caller& caller, const std::string& snapshot_id);
  // The same, Errc::not_found for a snapshot that is absent or not the caller's to see.
  SandboxBackend& snapshot_backend(const Caller& caller, const std::string& snapshot_id);

 private:
  // The backend name of a remembered sandbox; "" for one not remembered.
  std::string known_backend_name(const std::string& id);

  Config config_;
  std::uint64_t json_body_limit_ = 16u << 20;
  std::vector<std::pair<std::string, std::shared_ptr<SandboxBackend>>> backends_;
  std::string default_backend_;
  Tokens tokens_;
  std::string instance_id_;
  // Before processes_ and lifetimes_: their threads publish events until they are destroyed.
  EventHub events_{static_cast<std::uint64_t>(std::chrono::duration_cast<std::chrono::seconds>(
                        std::chrono::system_clock::now().time_since_epoch()).count()) * 1000000u};
  Metrics metrics_;
  std::mutex owners_mutex_;
  std::map<std::string, OwnedSandbox> owners_;  // by sandbox id
  ProcessRegistry processes_;
  std::unique_ptr<Pools> pools_;
  std::unique_ptr<Caps> caps_ = std::make_unique<Caps>(CapOptions{});

  std::set<std::string> removing_;               // under owners_mutex_
  std::atomic<bool> draining_{false};
  std::atomic<int> requests_running_{0};
  std::mutex streams_mutex_;
  std::set<Process*> streams_;
  boost::asio::thread_pool removals_{2};

  std::map<std::string, std::string> snapshot_tenants_;  // snapshot id -> tenant that took it
  std::unique_ptr<LifetimeWatch> lifetimes_;
};

}  // namespace hutch::server
