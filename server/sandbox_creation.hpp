// The one create behind every surface that makes sandboxes for clients: /v1's POST
// /v1/sandboxes (routes_sandboxes.cpp) and E2B's POST /sandboxes (e2b/control_plane.cpp). Each
// surface only turns its request's fields into a CreateRequest; the rules are applied here, the
// same for both: labels starting with "hutch." refused, host-only fields refused, files
// checked, the spec completed as the service makes it (Service::owned_spec: [defaults], the
// instance, tenant and token labels), the sandbox caps (429), a warm pool's hand-out, the
// create metric (hutch_create_seconds, from "backend" or "pool"), and the "created" event
// with the lifetime watch (Service::made). Restores, forks and snapshots share one path too, so
// /v1 (routes_sandboxes.cpp, routes_snapshots.cpp) and E2B apply the same caps and tenant rules.
#pragma once

#include "service.hpp"

#include <hutch/spec.hpp>

#include <boost/json.hpp>

#include <optional>
#include <string>
#include <vector>

namespace hutch::server {

struct CreateRequest {
  // The backend to make the sandbox on; unset: the service's default one (with a pool: the
  // pool's, and naming another one is refused).
  std::optional<std::string> backend;
  // Hand out a ready sandbox of this pool ([serve.pools.NAME]) instead of making one.
  std::optional<std::string> pool;
  // Restore this snapshot (one the caller may see) instead of making one: the filesystem and
  // the backend are the snapshot's; backend and pool must be unset.
  std::optional<std::string> snapshot;
  // Without a pool, the sandbox to make. With one, only env, ttl, idle_timeout, files and
  // labels apply (laid on the made sandbox at the hand-out); the surface refuses its other
  // fields, naming them as its request does.
  SandboxSpec spec;
  // How the surface's request names the labels, for error messages ("labels", "metadata").
  std::string labels_field = "labels";
  // Labels the surface adds itself after the check (E2B's template label).
  Labels surface_labels;
};

// Makes (or hands out, or restores) the sandbox for `caller`. Errors: Errc::invalid_argument
// naming the field (a hutch.* label, a host-only field, a bad file), Errc::not_found for an
// unknown backend, pool or snapshot, Errc::permission_denied for a tenant asking for a pool (a pool's sandboxes are made
// without a tenant label, which no backend can add later), Errc::rate_limited past a sandbox
// cap, and whatever the backend's create throws.
OwnedSandbox create_sandbox_for(Service& service, const Caller& caller, CreateRequest request);

// A copy of `parent` (Handle::fork) for `caller`, under the caller's sandbox caps, remembered
// and announced as "created" with "forked_from". Errc::unsupported where the backend cannot.
OwnedSandbox fork_sandbox_for(Service& service, const Caller& caller, const OwnedSandbox& parent);

// Snapshot `owned`'s filesystem (Handle::snapshot) for `caller`: a tenant's snapshot is seen by
// that tenant only (Service::remember_snapshot). Errc::unsupported naming the backend where its
// capabilities say no snapshots.
SnapshotInfo snapshot_sandbox_for(Service& service, const Caller& caller, const OwnedSandbox& owned, const std::string& label);

// The snapshots of every backend that `caller` may see, oldest first.
std::vector<SnapshotInfo> snapshots_for(Service& service, const Caller& caller);

// The checks of a spec a client sent (create, restore): no label starting with "hutch."
// (Errc::invalid_argument naming `labels_field`.KEY), no host-only field, files well formed.
void check_client_spec(const SandboxSpec& spec, const std::string& labels_field = "labels");

}  // namespace hutch::server
