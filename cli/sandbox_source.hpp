// Where a new sandbox's filesystem comes from, for `hutch create` and `hutch run`: the spec's image,
// or a snapshot the backend restores (--from-snapshot).
#pragma once

#include "create_options.hpp"
#include "session.hpp"

#include <hutch/backend.hpp>

#include <memory>
#include <string>
#include <vector>

namespace hutch::cli {

// The selected backend, checked to support what `options` ask for (--from-snapshot needs
// snapshots): Errc::unsupported before any engine is contacted.
SandboxBackend& backend_for(Session& session, const CreateOptions& options);

// Creates the sandbox from `spec`, or restores options.from_snapshot with `spec` as the
// overrides. Errc::not_found (find_snapshot) when the backend has no such snapshot.
std::shared_ptr<Handle> create_or_restore(SandboxBackend& backend, const CreateOptions& options,
                                          const SandboxSpec& spec);

// The snapshot `id` among `snapshots`, else Errc::not_found "no snapshot 'ID' on backend 'B'".
// Ids are checked against the backend's list so that a wrong id reads the same on every backend,
// and nothing but a snapshot (an image of the store, a directory) is taken for one.
const SnapshotInfo& find_snapshot(const std::vector<SnapshotInfo>& snapshots, const std::string& id,
                                  const std::string& backend);

}  // namespace hutch::cli
