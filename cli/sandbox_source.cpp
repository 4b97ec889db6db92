#include "sandbox_source.hpp"

#include <hutch/error.hpp>

#include <algorithm>

namespace hutch::cli {

SandboxBackend& backend_for(Session& session, const CreateOptions& options) {
  if (options.pool && session.backend_name() != "remote")
    throw Error(Errc::invalid_argument, "--pool " + *options.pool + ": warm pools are a service's; give its address with --host or HUTCH_HOST");
  if (options.from_snapshot) return session.backend_with(&Capabilities::snapshot, "--from-snapshot");
  return session.backend();
}

std::shared_ptr<Handle> create_or_restore(SandboxBackend& backend, const CreateOptions& options,
                                          const SandboxSpec& spec) {
  if (!options.from_snapshot) return backend.create(spec);
  find_snapshot(backend.snapshots(), *options.from_snapshot, backend.name());
  return backend.restore(*options.from_snapshot, spec);
}

const SnapshotInfo& find_snapshot(const std::vector<SnapshotInfo>& snapshots, const std::string& id,
                                  const std::string& backend) {
  auto found = std::find_if(snapshots.begin(), snapshots.end(),
                            [&](const SnapshotInfo& snapshot) { return snapshot.id == id; });
  if (found == snapshots.end())
    throw Error(Errc::not_found,
                "no snapshot '" + id + "' on backend '" + backend + "' (see 'hutch snapshots')");
  return *found;
}

}  // namespace hutch::cli
