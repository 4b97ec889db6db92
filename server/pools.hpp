// Warm pools ([serve.pools.NAME]): each keeps `size` sandboxes made ahead from its spec, so
// `POST /v1/sandboxes {"pool": NAME}` answers with a running sandbox instead of waiting for a
// create.
//
// Ownership. A pool's sandboxes are labelled hutch.service=<instance id> and hutch.pool=NAME.
// No backend can change a sandbox's labels after create, so the hutch.pool label stays after
// the hand-out; the service keeps the bookkeeping itself: a ready member is hidden from
// clients (listings, find) until handed out, and each hand-out is recorded as a file
// <state_dir>/serve/pool-handouts/<id>, so a restarted service tells handed-out sandboxes
// (kept: they are a client's) from members it had made ready (destroyed: nobody owns them).
// The file holds the labels the hand-out gave (a JSON object: the client's labels, the taking
// token's hutch.token): the service lays them over the backend's labels (Service::info), so
// a handed-out sandbox is listed, filtered and counted under its caps as one made for that
// token with those labels.
// When the service ends (SIGTERM/SIGINT, with or without --destroy-on-exit) the ready members
// are destroyed as well; after a kill -9 the next start destroys them.
#pragma once

#include "options.hpp"
#include "service.hpp"

#include <hutch/types.hpp>

#include <atomic>
#include <condition_variable>
#include <cstddef>
#include <deque>
#include <filesystem>
#include <functional>
#include <map>
#include <optional>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

namespace hutch::server {

// What a hand-out applies to the made sandbox (the fields of a create request that can apply).
struct HandOut {
  Env env;                                   // Handle::set_env
  std::optional<Duration> ttl, idle_timeout; // Handle::set_lifetime; unset: the pool spec's, from now
  std::vector<SandboxFile> files;            // stage_files
  Labels labels;                             // laid over the backend's labels (hand_out_labels)
};

class Pools {
 public:
  // Destroys the pool sandboxes of this service (its instance id) that an earlier run left
  // ready (every loaded backend's list; handed-out ones stay), then starts one refill thread
  // per pool. Errc::config naming the pool for a backend that is not loaded.
  Pools(Service& service, const std::vector<PoolOptions>& pools);
  // stop().
  ~Pools();

  // Ends the refill threads (a create in progress finishes first) and destroys the ready
  // members: they hold resources nobody owns. Idempotent.
  void stop();

  struct Status {
    std::string name;
    std::string backend;
    std::size_t size = 0;
    std::size_t ready = 0;
    Duration max_age{};
  };
  std::vector<Status> status() const;

  // Errc::not_found naming `name` when there is no such pool.
  const PoolOptions& options(const std::string& name) const;
  // The backend name the pool makes its sandboxes on.
  const std::string& backend_name(const std::string& name) const;

  // Hands out the oldest ready member of pool `name` — or, when none is ready, one made now —
  // with `hand_out` applied; wakes the pool's refill. When applying fails the sandbox is
  // destroyed and the error rethrown. Errc::not_found naming the pool for an unknown one.
  OwnedSandbox take(const std::string& name, const HandOut& hand_out);

  // Adds a step run on each sandbox pool `name` makes from now on, before it is ready (on the
  // refill thread, or in take() for one made at the request): what a surface would otherwise
  // do at every hand-out (E2B's default user). A step that throws fails the make: the sandbox
  // is destroyed, and the refill retries as after a failed create. Errc::not_found naming the
  // pool for an unknown one.
  void prepare(const std::string& name, std::function<void(Handle&)> step);

  // Whether a sandbox (its id and labels) is a pool member not handed out: clients do not see it.
  bool hidden(const std::string& id, const Labels& labels) const;
  // The labels given to sandbox `id` when it was handed out; nullopt for one never handed out.
  std::optional<Labels> hand_out_labels(const std::string& id) const;

 private:
  struct Member {
    std::shared_ptr<Handle> handle;
    std::chrono::steady_clock::time_point made;
  };
  struct Pool {
    PoolOptions options;
    std::string backend_name;
    SandboxBackend* backend = nullptr;
    SandboxSpec spec;  // as made: [defaults] merged, the service's and the pool's labels
    std::mutex mutex;
    std::vector<std::function<void(Handle&)>> steps;  // prepare(); under mutex
    std::condition_variable wake;
    std::deque<Member> ready;  // oldest first
    std::thread refill;
  };

  Pool& pool(const std::string& name) const;
  // Keeps the pool at its size, replaces members older than max_age; one create at a time,
  // failures logged and retried after a backoff doubling from 100 ms to 30 s.
  void refill_loop(Pool& pool);
  Member make(Pool& pool);
  void destroy(const std::string& pool, const std::shared_ptr<Handle>& handle);
  void remove_leftovers();
  void record_hand_out(const std::string& id, const Labels& labels);
  void apply(Handle& handle, const Pool& pool, const HandOut& hand_out);

  Service& service_;
  std::filesystem::path handouts_dir_;
  std::vector<std::unique_ptr<Pool>> pools_;
  mutable std::mutex handed_mutex_;
  std::map<std::string, Labels> handed_out_;  // id -> the hand-out's labels, as the files in handouts_dir_
  std::atomic<bool> stopping_{false};
};

}  // namespace hutch::server
