#include "pools.hpp"

#include <hutch/error.hpp>
#include <hutch/log.hpp>
#include <hutch/sandbox_files.hpp>
#include <hutch/service_labels.hpp>

#include <spdlog/spdlog.h>

#include <boost/json.hpp>

#include <algorithm>
#include <fstream>

namespace hutch::server {

namespace {

constexpr std::chrono::milliseconds kFirstBackoff{100};
constexpr std::chrono::seconds kLongestBackoff{30};

bool in_a_pool(const Labels& labels) { return labels.count(kLabelPool) != 0; }

// A hand-out record: the labels as a JSON object (an empty file, as earlier versions wrote,
// holds none).
Labels read_hand_out(const std::filesystem::path& file) {
  std::ifstream in(file);
  const std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  Labels labels;
  if (text.find_first_not_of(" \t\r\n") == std::string::npos) return labels;
  boost::system::error_code ec;
  const boost::json::value document = boost::json::parse(text, ec);
  if (ec || !document.is_object()) {
    logger()->warn("pools: the hand-out record {} is not a JSON object; its labels are ignored", file.string());
    return labels;
  }
  for (const auto& [key, value] : document.as_object())
    if (value.is_string()) labels[std::string(key)] = std::string(value.as_string());
  return labels;
}

}  // namespace

Pools::Pools(Service& service, const std::vector<PoolOptions>& pools)
    : service_(service), handouts_dir_(std::filesystem::path(service.config().state_dir) / "serve" / "pool-handouts") {
  std::filesystem::create_directories(handouts_dir_);
  for (const auto& entry : std::filesystem::directory_iterator(handouts_dir_))
    handed_out_[entry.path().filename().string()] = read_hand_out(entry.path());
  for (const PoolOptions& options : pools) {
    auto pool = std::make_unique<Pool>();
    pool->options = options;
    pool->backend_name = options.backend.value_or(service.default_backend());
    try {
      pool->backend = &service.backend(pool->backend_name);
    } catch (const Error& error) {
      throw Error(Errc::config, "[serve.pools." + options.name + "]: " + error.what());
    }
    pool->spec = service.owned_spec(Caller{"pool", std::nullopt}, options.spec);
    pool->spec.labels[kLabelPool] = options.name;
    pools_.push_back(std::move(pool));
  }
  remove_leftovers();
  for (auto& pool : pools_) pool->refill = std::thread([this, raw = pool.get()] { refill_loop(*raw); });
}

Pools::~Pools() { stop(); }

void Pools::remove_leftovers() {
  const Filter own{{{kLabelService, service_.instance_id()}}};
  std::set<std::string> alive;
  bool listed_all = true;
  for (const auto& [name, backend] : service_.backends()) {
    try {
      for (const SandboxInfo& info : backend->list(own)) {
        alive.insert(info.id);
        if (!in_a_pool(info.labels) || handed_out_.count(info.id)) continue;
        logger()->info("pool {}: removing sandbox {}, left ready by an earlier run", info.labels.at(kLabelPool), info.id);
        try {
          backend->destroy(info.id);
        } catch (const std::exception& error) {
          logger()->warn("pool {}: removing the left sandbox {} failed: {}", info.labels.at(kLabelPool), info.id, error.what());
        }
      }
    } catch (const std::exception& error) {
      listed_all = false;
      logger()->warn("pools: listing the sandboxes of backend '{}' failed: {}", name, error.what());
    }
  }
  // A hand-out record outlives its sandbox only until here.
  if (!listed_all) return;
  for (auto id = handed_out_.begin(); id != handed_out_.end();) {
    if (alive.count(id->first)) {
      ++id;
      continue;
    }
    std::error_code ignored;
    std::filesystem::remove(handouts_dir_ / id->first, ignored);
    id = handed_out_.erase(id);
  }
}

void Pools::stop() {
  if (stopping_.exchange(true)) return;
  // Under each pool's mutex, so a loop between its check and its wait still gets the wake-up.
  for (auto& pool : pools_) {
    std::lock_guard lock(pool->mutex);
    pool->wake.notify_all();
  }
  for (auto& pool : pools_) {
    if (pool->refill.joinable()) pool->refill.join();
    std::deque<Member> ready;
    {
      std::lock_guard lock(pool->mutex);
      ready.swap(pool->ready);
    }
    for (const Member& member : ready) destroy(pool->options.name, member.handle);
  }
}

Pools::Pool& Pools::pool(const std::string& name) const {
  for (const auto& pool : pools_)
    if (pool->options.name == name) return *pool;
  std::string names;
  for (const auto& pool : pools_) names += (names.empty() ? "'" : ", '") + pool->options.name + "'";
  throw Error(Errc::not_found, "no pool '" + name + "' in this service (" + (names.empty() ? "none is configured" : "pools: " + names) + ")");
}

const PoolOptions& Pools::options(const std::string& name) const { return pool(name).options; }

const std::string& Pools::backend_name(const std::string& name) const { return pool(name).backend_name; }

std::vector<Pools::Status> Pools::status() const {
  std::vector<Status> all;
  for (const auto& pool : pools_) {
    std::lock_guard lock(pool->mutex);
    all.push_back({pool->options.name, pool->backend_name, pool->options.size, pool->ready.size(), pool->options.max_age});
  }
  return all;
}

bool Pools::hidden(const std::string& id, const Labels& labels) const {
  if (!in_a_pool(labels)) return false;
  std::lock_guard lock(handed_mutex_);
  return handed_out_.count(id) == 0;
}

Pools::Member Pools::make(Pool& pool) {
  std::vector<std::function<void(Handle&)>> steps;
  {
    std::lock_guard lock(pool.mutex);
    steps = pool.steps;
  }
  std::shared_ptr<Handle> handle = pool.backend->create(pool.spec);
  try {
    for (const auto& step : steps) step(*handle);
  } catch (...) {
    destroy(pool.options.name, handle);
    throw;
  }
  return {std::move(handle), std::chrono::steady_clock::now()};
}

void Pools::prepare(const std::string& name, std::function<void(Handle&)> step) {
  Pool& chosen = pool(name);
  std::lock_guard lock(chosen.mutex);
  chosen.steps.push_back(std::move(step));
}

void Pools::destroy(const std::string& pool, const std::shared_ptr<Handle>& handle) {
  try {
    handle->destroy();
  } catch (const std::exception& error) {
    logger()->warn("pool {}: removing sandbox {} failed: {}", pool, handle->id(), error.what());
  }
}

void Pools::refill_loop(Pool& pool) {
  const std::string& name = pool.options.name;
  auto backoff = std::chrono::duration_cast<std::chrono::milliseconds>(kFirstBackoff);
  std::unique_lock lock(pool.mutex);
  while (!stopping_) {
    const auto now = std::chrono::steady_clock::now();
    if (!pool.ready.empty() && now - pool.ready.front().made >= pool.options.max_age) {
      Member aged = std::move(pool.ready.front());
      pool.ready.pop_front();
      lock.unlock();
      logger()->info("pool {}: replacing sandbox {}, older than max_age", name, aged.handle->id());
      destroy(name, aged.handle);
      lock.lock();
      continue;
    }
    if (pool.ready.size() >= pool.options.size) {
      const std::size_t size = pool.ready.size();
      auto woken = [&] { return stopping_.load() || pool.ready.size() < size; };
      if (pool.ready.empty()) pool.wake.wait(lock, woken);
      else pool.wake.wait_until(lock, pool.ready.front().made + pool.options.max_age, woken);
      continue;
    }
    lock.unlock();
    try {
      Member member = make(pool);
      lock.lock();
      if (stopping_) {
        lock.unlock();
        destroy(name, member.handle);
        lock.lock();
        break;
      }
      logger()->debug("pool {}: sandbox {} ready", name, member.handle->id());
      // A ready member is the operator's (no tenant label): tenants never see this event.
      service_.events().publish("pool_refilled", member.handle->id(), pool.backend_name, pool.spec.labels,
                                boost::json::object{{"pool", name}, {"ready", pool.ready.size() + 1}, {"size", pool.options.size}});
      pool.ready.push_back(std::move(member));
      backoff = kFirstBackoff;
    } catch (const std::exception& error) {
      logger()->warn("pool {}: making a sandbox failed (retrying in {} ms): {}", name, backoff.count(), error.what());
      lock.lock();
      pool.wake.wait_for(lock, backoff, [&] { return stopping_.load(); });
      backoff = std::min<std::chrono::milliseconds>(backoff * 2, kLongestBackoff);
    }
  }
}

void Pools::record_hand_out(const std::string& id, const Labels& labels) {
  // Written before the client gets the sandbox: a restart then never destroys one handed out.
  boost::json::object document;
  for (const auto& [key, value] : labels) document[key] = value;
  std::ofstream(handouts_dir_ / id) << boost::json::serialize(document);
  if (read_hand_out(handouts_dir_ / id) != labels)
    throw Error(Errc::io, "cannot record the hand-out of sandbox " + id + " in " + handouts_dir_.string());
  std::lock_guard lock(handed_mutex_);
  handed_out_[id] = labels;
}

std::optional<Labels> Pools::hand_out_labels(const std::string& id) const {
  std::lock_guard lock(handed_mutex_);
  auto found = handed_out_.find(id);
  if (found == handed_out_.end()) return std::nullopt;
  return found->second;
}

void Pools::apply(Handle& handle, const Pool& pool, const HandOut& hand_out) {
  if (!hand_out.env.empty()) handle.set_env(hand_out.env, {});
  // The lifetimes count from the hand-out: the request's, else the pool spec's.
  LifetimeUpdate lifetimes;
  lifetimes.ttl = hand_out.ttl ? hand_out.ttl : pool.spec.ttl;
  lifetimes.idle_timeout = hand_out.idle_timeout ? hand_out.idle_timeout : pool.spec.idle_timeout;
  if (lifetimes.ttl || lifetimes.idle_timeout) handle.set_lifetime(lifetimes);
  if (!hand_out.files.empty()) stage_files(handle, hand_out.files);
}

OwnedSandbox Pools::take(const std::string& name, const HandOut& hand_out) {
  Pool& chosen = pool(name);
  std::shared_ptr<Handle> handle;
  {
    std::lock_guard lock(chosen.mutex);
    if (!chosen.ready.empty()) {
      handle = std::move(chosen.ready.front().handle);
      chosen.ready.pop_front();
    }
  }
  // The refill starts once this hand-out is applied: its create does not compete with it.
  auto refill = [&chosen] {
    std::lock_guard lock(chosen.mutex);
    chosen.wake.notify_all();
  };
  if (!handle) {
    logger()->info("pool {}: none ready, making one for the request", name);
    handle = make(chosen).handle;
  }
  try {
    record_hand_out(handle->id(), hand_out.labels);
    apply(*handle, chosen, hand_out);
  } catch (...) {
    refill();
    destroy(name, handle);
    throw;
  }
  refill();
  service_.remember(*chosen.backend, handle);
  return {chosen.backend, handle};
}

}  // namespace hutch::server
