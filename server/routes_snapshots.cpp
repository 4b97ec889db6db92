// /v1/snapshots: the snapshots Handle::snapshot stored (POST /v1/sandboxes/{id}/snapshot takes
// one), listed, removed, and restored into a new sandbox (SandboxBackend::restore).
#include "routes.hpp"

#include "values_json.hpp"

#include <hutch/error.hpp>

namespace hutch::server {

namespace json = boost::json;

void list_snapshots(Context& context) {
  json::array snapshots;
  for (const auto& [name, backend] : context.service.backends()) {
    if (!backend->capabilities().snapshot) continue;
    for (const SnapshotInfo& snapshot : backend->snapshots())
      if (context.service.snapshot_visible(context.caller, snapshot.id)) snapshots.push_back(json_io::to_json(snapshot));
  }
  respond_json(context, 200, snapshots);
}

void delete_snapshot(Context& context) {
  const std::string& id = context.request().params.at("id");
  context.service.snapshot_backend(context.caller, id).delete_snapshot(id);
  context.exchange.respond(204, "application/json", "");
}

// The body is a create request (env, labels, lifetimes, limits…); the filesystem, and so the
// image, are the snapshot's.
void restore_snapshot(Context& context) {
  json::object body = read_json_object(context);
  if (body.contains("backend") || body.contains("pool"))
    throw Error(Errc::invalid_argument, "fields 'backend' and 'pool' do not apply to a restore: the snapshot's backend restores it");
  const std::string& id = context.request().params.at("id");
  SandboxBackend& backend = context.service.snapshot_backend(context.caller, id);
  SandboxSpec spec = sandbox_spec_of(context, std::move(body));
  const Caps::Slot slot = context.service.reserve_sandbox(context.caller);
  std::shared_ptr<Handle> handle = backend.restore(id, std::move(spec));
  context.service.made(backend, handle, json::object{{"snapshot", id}});
  respond_json(context, 201, sandbox_json(handle->info()));
}

}  // namespace hutch::server
