// Caps on what callers hold at once ([serve] max_requests, max_streams, max_sandboxes and each
// one's *_per_token): past one, Errc::rate_limited (429, with Retry-After) naming the cap and
// its value. Requests and streams are counted here with RAII slots, so every path that ends a
// request or a stream (an answer, an error, a client gone, a stream's end) gives its slot back;
// a stream is anything a client keeps open: a WebSocket exec, an attachment to a background
// process, a followed log, GET /v1/events, a connection through the port proxy (/v1's or
// E2B's), E2B's server-streaming calls (Process Start and Connect, Filesystem WatchDir). Each
// is a request too, and holds a request slot as well while its handler runs (a proxied
// connection's handler returns once the relay started: the relay holds the stream slot only).
// Sandboxes are counted where they live: the service's sandboxes the backends list (per token:
// those labelled hutch.token=NAME, which the service puts on what each token creates), plus the
// creates in progress.
#pragma once

#include "tokens.hpp"

#include <hutch/config.hpp>

#include <cstddef>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <utility>

namespace hutch::server {

struct CapOptions {
  // Unset: no cap. A per-token cap applies to each token's NAME (without tokens: "local").
  std::optional<std::size_t> max_requests, max_requests_per_token;
  std::optional<std::size_t> max_streams, max_streams_per_token;
  std::optional<std::size_t> max_sandboxes, max_sandboxes_per_token;
};

// Reads the max_* keys of [serve] (integers from 1; Errc::config naming the key otherwise).
CapOptions read_cap_options(const ConfigTable& serve);

class Caps {
  struct Counter;

 public:
  // Seconds a refused client is told to wait (Retry-After).
  static constexpr int kRetryAfterSeconds = 1;

  // A held place under a cap, given back when destroyed. Move-only; empty when nothing was taken.
  class Slot {
   public:
    Slot() = default;
    Slot(Slot&& other) noexcept;
    Slot& operator=(Slot&& other) noexcept;
    Slot(const Slot&) = delete;
    Slot& operator=(const Slot&) = delete;
    ~Slot();

   private:
    friend class Caps;
    Slot(Caps* caps, Counter* counter, std::string token) : caps_(caps), counter_(counter), token_(std::move(token)) {}
    void release();
    Caps* caps_ = nullptr;
    Counter* counter_ = nullptr;
    std::string token_;
  };

  explicit Caps(CapOptions options);

  // A request of `caller` (one slot for the handler's whole run).
  Slot take_request(const Caller& caller);
  // A stream of `caller`, for as long as it streams.
  Slot take_stream(const Caller& caller);
  // A sandbox `caller` is about to create, held until the create returned (then the sandbox
  // counts through the listing). `count(token)` counts the service's sandboxes, of the token
  // NAME when given, of every token when nullopt; it runs only when a sandbox cap is set,
  // under a lock, so two creates never both take the last place. A create that finishes while
  // another is checked may be counted twice for that instant: the check errs toward 429,
  // never past a cap.
  Slot take_sandbox(const Caller& caller, const std::function<std::size_t(const std::optional<std::string>&)>& count);

  const CapOptions& options() const { return options_; }

 private:
  struct Counter {
    const char* what;   // "requests", "streams", "sandboxes"
    const char* total_key;  // "max_requests"
    const char* token_key;  // "max_requests_per_token"
    std::optional<std::size_t> total_cap, token_cap;
    std::size_t total = 0;
    std::map<std::string, std::size_t> by_token;
  };
  Slot take(Counter& counter, const std::string& token, std::size_t existing_total, std::size_t existing_token);
  void give_back(Counter& counter, const std::string& token);

  CapOptions options_;
  std::mutex mutex_;          // the counters
  std::mutex sandbox_mutex_;  // one sandbox check (listing included) at a time
  Counter requests_, streams_, sandboxes_;
};

}  // namespace hutch::server
