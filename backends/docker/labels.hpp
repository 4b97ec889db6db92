// The labels the docker backend puts on what it creates, beyond the SDK's sbx.managed /
// sbx.id / sbx.owner. They let another process (resume, prune) rebuild what it needs.
#pragma once

#include <sbx/types.hpp>

#include <string>
#include <vector>

namespace sbx::docker::label {

inline constexpr const char* kSpec = "sbx.spec";                     // the SandboxSpec as JSON
inline constexpr const char* kWorkspace = "sbx.workspace";           // ephemeral|persistent|none
inline constexpr const char* kWorkspaceVolume = "sbx.workspace-volume";  // its volume name
inline constexpr const char* kForkImage = "sbx.fork-image";          // image removed with the sandbox
inline constexpr const char* kKind = "sbx.kind";                     // on images: fork|snapshot
inline constexpr const char* kSnapshotLabel = "sbx.snapshot-label";  // Handle::snapshot's label
inline constexpr const char* kSource = "sbx.source";                 // sandbox a fork/snapshot came from
inline constexpr const char* kCreated = "sbx.created";               // creation, ms since epoch
// With the agent as PID 1: the host directory of its socket, and the user commands run as
// when a request names none (the spec's, else the image's). Absent: commands use the exec API.
inline constexpr const char* kAgentDir = "sbx.agent-dir";
inline constexpr const char* kAgentUser = "sbx.agent-user";

// The spec label through which a caller picks the workspace mode for one sandbox
// (overrides [backends.docker] workspace): "ephemeral", "persistent" or "none".
inline constexpr const char* kUserWorkspace = "sbx-workspace";
// With a persistent workspace: the volume's name (default "sbx-ws-<sandbox id>").
inline constexpr const char* kUserWorkspaceName = "sbx-workspace-name";

}  // namespace sbx::docker::label

namespace sbx::docker {

// The Engine API's "label" filter values for managed objects carrying all of `labels`.
inline std::vector<std::string> label_filters(const Labels& labels) {
  std::vector<std::string> out{std::string(kLabelManaged) + "=true"};
  for (const auto& [key, value] : labels) out.push_back(key + "=" + value);
  return out;
}

}  // namespace sbx::docker
