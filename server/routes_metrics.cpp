// GET /metrics: Prometheus' text exposition format 0.0.4, every name starting with "hutch_".
// It shows the whole service (every tenant's sandboxes, the pools), so it needs an operator's
// token: a tenant's token is refused with 403 (and, as everywhere, no token with 401 when the
// service has tokens). Gauges are read at each scrape; counters and histograms come from
// Metrics (metrics.hpp).
#include "routes.hpp"

#include "pools.hpp"

#include <hutch/error.hpp>
#include <hutch/log.hpp>

#include <spdlog/spdlog.h>

namespace hutch::server {

namespace {

void write_sandboxes(Service& service, Exposition& out) {
  static const SandboxState kStates[] = {SandboxState::creating, SandboxState::running, SandboxState::paused,
                                         SandboxState::stopped,  SandboxState::expired, SandboxState::unknown};
  out.family("hutch_sandboxes", "gauge", "Sandboxes the operator sees (GET /v1/sandboxes), by backend and state.");
  std::vector<std::pair<std::string, bool>> listed;
  for (const auto& [name, backend] : service.backends()) {
    std::map<std::string, int> counts;
    for (SandboxState state : kStates) counts[to_string(state)] = 0;
    try {
      for (const SandboxInfo& info : service.list(Caller{"metrics", std::nullopt}, Filter{}, name)) ++counts[to_string(info.state)];
      listed.emplace_back(name, true);
    } catch (const std::exception& error) {
      logger()->warn("GET /metrics: listing the sandboxes of backend '{}' failed: {}", name, error.what());
      listed.emplace_back(name, false);
      continue;
    }
    for (const auto& [state, count] : counts) out.sample("hutch_sandboxes", {{"backend", name}, {"state", state}}, count);
  }
  out.family("hutch_backend_up", "gauge", "1 when the backend answered this scrape's listing, 0 when it failed.");
  for (const auto& [name, up] : listed) out.sample("hutch_backend_up", {{"backend", name}}, up ? 1 : 0);
}

void write_pools(Service& service, Exposition& out) {
  std::vector<Pools::Status> pools;
  if (service.has_pools()) pools = service.pools().status();
  out.family("hutch_pool_ready", "gauge", "Ready sandboxes of each warm pool.");
  for (const Pools::Status& pool : pools) out.sample("hutch_pool_ready", {{"pool", pool.name}, {"backend", pool.backend}}, static_cast<double>(pool.ready));
  out.family("hutch_pool_target", "gauge", "The size each warm pool keeps ready ([serve.pools.NAME] size).");
  for (const Pools::Status& pool : pools) out.sample("hutch_pool_target", {{"pool", pool.name}, {"backend", pool.backend}}, static_cast<double>(pool.size));
}

}  // namespace

void get_metrics(Context& context) {
  if (context.caller.tenant)
    throw Error(Errc::permission_denied, "GET /metrics shows the whole service; the token of tenant '" + *context.caller.tenant +
                                             "' may not read it (use a token without tenant=)");
  Service& service = context.service;
  Exposition out;
  write_sandboxes(service, out);
  write_pools(service, out);
  out.family("hutch_open_streams", "gauge",
             "Streams open now: kind=exec streamed commands, kind=process attachments to background processes, kind=events event streams.");
  out.sample("hutch_open_streams", {{"kind", "exec"}}, static_cast<double>(service.streams_open()));
  out.sample("hutch_open_streams", {{"kind", "process"}}, static_cast<double>(service.processes().attached()));
  out.sample("hutch_open_streams", {{"kind", "events"}}, static_cast<double>(service.events().subscribers()));
  service.metrics().write(out);
  context.exchange.respond(200, "text/plain; version=0.0.4; charset=utf-8", out.text());
}

}  // namespace hutch::server
