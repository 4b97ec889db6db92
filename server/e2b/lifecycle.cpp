#include "lifecycle.hpp"

#include <hutch/error.hpp>

namespace hutch::server::e2b {
namespace json = boost::json;
namespace {

// An optional boolean field; nullopt when absent or null.
std::optional<bool> bool_field(const json::object& body, const char* name) {
  const json::value* value = body.if_contains(name);
  if (value == nullptr || value->is_null()) return std::nullopt;
  if (!value->is_bool()) throw Error(Errc::invalid_argument, std::string("field '") + name + "': expected true or false");
  return value->as_bool();
}

}  // namespace

Lifecycle lifecycle_field(const json::object& body, Duration timeout) {
  Lifecycle lifecycle;
  lifecycle.timeout = timeout;
  lifecycle.pause_on_timeout = bool_field(body, "autoPause").value_or(false);
  if (const auto memory = bool_field(body, "autoPauseMemory")) {
    if (!lifecycle.pause_on_timeout)
      throw Error(Errc::invalid_argument, "field 'autoPauseMemory': applies only with autoPause (onTimeout 'pause')");
    lifecycle.keep_memory = *memory;
  }
  if (const json::value* resume = body.if_contains("autoResume"); resume && !resume->is_null()) {
    const json::object* object = resume->if_object();
    if (object == nullptr) throw Error(Errc::invalid_argument, "field 'autoResume': expected {\"enabled\": true|false}");
    lifecycle.auto_resume = bool_field(*object, "enabled").value_or(false);
    if (lifecycle.auto_resume && !lifecycle.pause_on_timeout)
      throw Error(Errc::invalid_argument, "field 'autoResume': applies only with autoPause (onTimeout 'pause')");
    if (lifecycle.auto_resume && !lifecycle.keep_memory)
      throw Error(Errc::invalid_argument,
                  "field 'autoResume': a filesystem-only pause (autoPauseMemory false) is resumed by connect only");
  }
  return lifecycle;
}

Labels lifecycle_labels(const Lifecycle& lifecycle) {
  if (!lifecycle.pause_on_timeout) return {};
  Labels labels{{kLabelOnTimeout, "pause"},
                {kLabelTimeoutSeconds, std::to_string(std::chrono::duration_cast<std::chrono::seconds>(lifecycle.timeout).count())}};
  if (!lifecycle.keep_memory) labels[kLabelKeepMemory] = "false";
  if (lifecycle.auto_resume) labels[kLabelAutoResume] = "true";
  return labels;
}

Lifecycle lifecycle_of(const Labels& labels) {
  Lifecycle lifecycle;
  const auto on_timeout = labels.find(kLabelOnTimeout);
  lifecycle.pause_on_timeout = on_timeout != labels.end() && on_timeout->second == "pause";
  if (!lifecycle.pause_on_timeout) return lifecycle;
  const auto memory = labels.find(kLabelKeepMemory);
  lifecycle.keep_memory = memory == labels.end() || memory->second != "false";
  const auto resume = labels.find(kLabelAutoResume);
  lifecycle.auto_resume = resume != labels.end() && resume->second == "true";
  if (const auto seconds = labels.find(kLabelTimeoutSeconds); seconds != labels.end()) {
    try {
      lifecycle.timeout = std::chrono::seconds(std::stoll(seconds->second));
    } catch (const std::exception&) {
      // Not written by this layer: the resume then grants E2B's default (control_plane.cpp).
    }
  }
  return lifecycle;
}

json::object lifecycle_json(const Labels& labels) {
  const Lifecycle lifecycle = lifecycle_of(labels);
  return json::object{{"onTimeout", lifecycle.pause_on_timeout ? "pause" : "kill"}, {"autoResume", lifecycle.auto_resume}};
}

bool paused_for_e2b(const SandboxInfo& info) {
  if (info.state == SandboxState::paused) return true;
  if (info.state != SandboxState::stopped) return false;
  const Lifecycle lifecycle = lifecycle_of(info.labels);
  return lifecycle.pause_on_timeout && !lifecycle.keep_memory;
}

bool alive_for_e2b(const SandboxInfo& info) { return info.state == SandboxState::running || paused_for_e2b(info); }

}  // namespace hutch::server::e2b

// E2b's members for the lifecycle (context.hpp).
#include "context.hpp"

#include <hutch/service_labels.hpp>

#include <spdlog/spdlog.h>

namespace hutch::server::e2b {
namespace {

constexpr Duration kDefaultResumeTimeout = std::chrono::seconds(300);  // E2B's default timeout

}  // namespace

void E2b::apply_timeout(const OwnedSandbox& owned, Duration timeout) const {
  const Lifecycle lifecycle = lifecycle_of(service_.labels_of(owned.handle->id(), owned.handle->spec().labels));
  if (lifecycle.pause_on_timeout) {
    auto_pause_.arm(owned.handle->id(), AutoPause::Clock::now() + timeout);
    return;
  }
  LifetimeUpdate update;
  update.ttl = timeout;
  owned.handle->set_lifetime(update);
  service_.watch(owned);
}

std::optional<AutoPause::Clock::time_point> E2b::pause_deadline(const std::string& sandbox_id) const {
  return auto_pause_.deadline(sandbox_id);
}

bool E2b::resume(const OwnedSandbox& owned, std::optional<Duration> timeout) const {
  const SandboxInfo info = service_.info(owned);
  if (!paused_for_e2b(info)) return false;
  const Lifecycle lifecycle = lifecycle_of(info.labels);
  if (info.state == SandboxState::paused) {
    owned.handle->unpause();
    service_.announce("unpaused", owned);
  } else {
    owned.handle->start();  // a filesystem-only pause: its processes ended, its files stayed
    service_.announce("started", owned);
  }
  service_.watch(owned);
  if (timeout) apply_timeout(owned, *timeout);
  else if (lifecycle.pause_on_timeout)
    apply_timeout(owned, lifecycle.timeout.count() > 0 ? lifecycle.timeout : kDefaultResumeTimeout);
  return true;
}

void E2b::resume_for_traffic(const OwnedSandbox& owned) const {
  // The labels are in memory; info() is asked only of the sandboxes that may need it.
  if (!lifecycle_of(service_.labels_of(owned.handle->id(), owned.handle->spec().labels)).auto_resume) return;
  if (owned.handle->info().state != SandboxState::paused) return;
  resume(owned, std::nullopt);
}

void E2b::reach_timeout(const std::string& sandbox_id) {
  try {
    OwnedSandbox owned = service_.find(Caller{"e2b-timeout", std::nullopt}, sandbox_id);
    const SandboxInfo info = service_.info(owned);
    if (info.state != SandboxState::running) return;  // paused or stopped meanwhile: nothing to do
    if (lifecycle_of(info.labels).keep_memory) {
      owned.handle->pause();
      service_.announce("paused", owned, boost::json::object{{"reason", "timeout"}});
    } else {
      owned.handle->stop();
      service_.announce("stopped", owned, boost::json::object{{"reason", "timeout"}});
    }
    service_.watch(owned);
  } catch (const std::exception& error) {
    spdlog::warn("e2b: sandbox {} reached its timeout but could not be paused: {}", sandbox_id, error.what());
  }
}

void E2b::rearm_timeouts() {
  Filter filter;
  filter.labels[kLabelService] = service_.instance_id();
  filter.labels[kLabelOnTimeout] = "pause";
  try {
    for (const SandboxInfo& info : service_.list(Caller{"e2b-timeout", std::nullopt}, std::move(filter))) {
      if (info.state != SandboxState::running) continue;
      const Lifecycle lifecycle = lifecycle_of(info.labels);
      auto_pause_.arm(info.id, AutoPause::Clock::now() +
                                   (lifecycle.timeout.count() > 0 ? lifecycle.timeout : kDefaultResumeTimeout));
    }
  } catch (const std::exception& error) {
    spdlog::warn("e2b: the auto-pause sandboxes of an earlier run could not be listed: {}", error.what());
  }
}

}  // namespace hutch::server::e2b
