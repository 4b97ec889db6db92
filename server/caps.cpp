#include "caps.hpp"

#include <hutch/error.hpp>

namespace hutch::server {

CapOptions read_cap_options(const ConfigTable& serve) {
  CapOptions options;
  auto read = [&](const char* key, std::optional<std::size_t>& into) {
    if (auto value = serve.get_int(key, 1, 1 << 30)) into = static_cast<std::size_t>(*value);
  };
  read("max_requests", options.max_requests);
  read("max_requests_per_token", options.max_requests_per_token);
  read("max_streams", options.max_streams);
  read("max_streams_per_token", options.max_streams_per_token);
  read("max_sandboxes", options.max_sandboxes);
  read("max_sandboxes_per_token", options.max_sandboxes_per_token);
  return options;
}

Caps::Caps(CapOptions options)
    : options_(options),
      requests_{"requests", "max_requests", "max_requests_per_token", options.max_requests, options.max_requests_per_token},
      streams_{"streams", "max_streams", "max_streams_per_token", options.max_streams, options.max_streams_per_token},
      sandboxes_{"sandboxes", "max_sandboxes", "max_sandboxes_per_token", options.max_sandboxes,
                 options.max_sandboxes_per_token} {}

Caps::Slot Caps::take(Counter& counter, const std::string& token, std::size_t existing_total, std::size_t existing_token) {
  std::lock_guard lock(mutex_);
  const std::size_t total = counter.total + existing_total;
  const std::size_t of_token = counter.by_token[token] + existing_token;
  auto refuse = [&](const char* key, std::size_t cap, std::size_t held, const std::string& whose) {
    throw Error(Errc::rate_limited, std::string(key) + " = " + std::to_string(cap) + " reached: " + std::to_string(held) +
                                        " " + counter.what + " held" + whose + "; retry when one ends");
  };
  if (counter.total_cap && total >= *counter.total_cap) refuse(counter.total_key, *counter.total_cap, total, " in all");
  if (counter.token_cap && of_token >= *counter.token_cap)
    refuse(counter.token_key, *counter.token_cap, of_token, " by token '" + token + "'");
  ++counter.total;
  ++counter.by_token[token];
  return Slot(this, &counter, token);
}

void Caps::give_back(Counter& counter, const std::string& token) {
  std::lock_guard lock(mutex_);
  --counter.total;
  if (auto held = counter.by_token.find(token); held != counter.by_token.end() && --held->second == 0)
    counter.by_token.erase(held);
}

Caps::Slot Caps::take_request(const Caller& caller) {
  if (!requests_.total_cap && !requests_.token_cap) return {};
  return take(requests_, caller.name, 0, 0);
}

Caps::Slot Caps::take_stream(const Caller& caller) {
  if (!streams_.total_cap && !streams_.token_cap) return {};
  return take(streams_, caller.name, 0, 0);
}

Caps::Slot Caps::take_sandbox(const Caller& caller,
                              const std::function<std::size_t(const std::optional<std::string>&)>& count) {
  if (!sandboxes_.total_cap && !sandboxes_.token_cap) return {};
  std::lock_guard lock(sandbox_mutex_);
  const std::size_t existing_total = sandboxes_.total_cap ? count(std::nullopt) : 0;
  const std::size_t existing_token = sandboxes_.token_cap ? count(caller.name) : 0;
  return take(sandboxes_, caller.name, existing_total, existing_token);
}

Caps::Slot::Slot(Slot&& other) noexcept
    : caps_(std::exchange(other.caps_, nullptr)), counter_(std::exchange(other.counter_, nullptr)), token_(std::move(other.token_)) {}

Caps::Slot& Caps::Slot::operator=(Slot&& other) noexcept {
  if (this != &other) {
    release();
    caps_ = std::exchange(other.caps_, nullptr);
    counter_ = std::exchange(other.counter_, nullptr);
    token_ = std::move(other.token_);
  }
  return *this;
}

Caps::Slot::~Slot() { release(); }

void Caps::Slot::release() {
  if (caps_ != nullptr) caps_->give_back(*counter_, token_);
  caps_ = nullptr;
  counter_ = nullptr;
}

}  // namespace hutch::server
