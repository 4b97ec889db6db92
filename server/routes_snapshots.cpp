// /v1/snapshots: the snapshots Handle::snapshot stored (POST /v1/sandboxes/{id}/snapshot takes
// one), listed, removed, and restored into a new sandbox (SandboxBackend::restore).
#include "routes.hpp"

#include "sandbox_creation.hpp"
#include "values_json.hpp"

#include <hutch/error.hpp>
#include <hutch/spec_json.hpp>

namespace hutch::server {

namespace json = boost::json;

void list_snapshots(Context& context) {
  json::array snapshots;
  for (const SnapshotInfo& snapshot : snapshots_for(context.service, context.caller)) snapshots.push_back(json_io::to_json(snapshot));
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
  CreateRequest request;
  request.snapshot = context.request().params.at("id");
  request.spec = spec_from_request_json(json::serialize(body));
  const OwnedSandbox owned = create_sandbox_for(context.service, context.caller, std::move(request));
  respond_json(context, 201, sandbox_json(owned.handle->info()));
}

}  // namespace hutch::server
