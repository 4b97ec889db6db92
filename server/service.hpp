// Service: what every request handler shares — the loaded backends, the tokens, this service's
// instance id — and the one place that decides which sandboxes a caller may see.
#pragma once

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
  void forget(const std::string& id);

  // The calls /v1 and /e2b share, so both make and remove sandboxes the same way.
  // Creates a sandbox for the caller on backend `backend_name`: what the spec leaves unset gets
  // the configuration's [defaults] (as with `hutch create`); the sandbox is detached (it
  // belongs to the service, prune applies its lifetimes) and labelled with the service's
  // instance id and the caller's tenant. Errc::invalid_argument for labels starting "hutch.".
  std::shared_ptr<Handle> create(const Caller& caller, SandboxSpec spec, const std::string& backend_name);
  // The spec as the service makes it, without the label check: [defaults] filled in (ttl and
  // idle_timeout too), detached, labelled with the instance id and the caller's tenant.
  SandboxSpec owned_spec(const Caller& caller, SandboxSpec spec) const;

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
  // The backend holding snapshot `snapshot_id`, if the caller may see it.
  SandboxBackend& snapshot_backend(const Caller& caller, const std::string& snapshot_id);

 private:
  Config config_;
  std::uint64_t json_body_limit_ = 16u << 20;
  std::vector<std::pair<std::string, std::shared_ptr<SandboxBackend>>> backends_;
  std::string default_backend_;
  Tokens tokens_;
  std::string instance_id_;
  std::mutex owners_mutex_;
  std::map<std::string, OwnedSandbox> owners_;  // by sandbox id
  ProcessRegistry processes_;
  std::unique_ptr<Pools> pools_;

  std::set<std::string> removing_;               // under owners_mutex_
  std::atomic<bool> draining_{false};
  std::atomic<int> requests_running_{0};
  std::mutex streams_mutex_;
  std::set<Process*> streams_;
  boost::asio::thread_pool removals_{2};

  std::map<std::string, std::string> snapshot_tenants_;  // snapshot id -> tenant that took it
};

}  // namespace hutch::server
