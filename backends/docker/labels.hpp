// The labels the docker backend puts on what it creates, beyond the SDK's hutch.managed /
// hutch.id / hutch.owner. They let another process (resume, prune) rebuild what it needs.
#pragma once

#include <hutch/types.hpp>

#include <boost/json/value.hpp>

#include <string>
#include <vector>

namespace hutch::docker::label {

inline constexpr const char* kSpec = "hutch.spec";                     // the SandboxSpec as JSON
inline constexpr const char* kWorkspace = "hutch.workspace";           // ephemeral|persistent|none
inline constexpr const char* kWorkspaceVolume = "hutch.workspace-volume";  // its volume name
inline constexpr const char* kForkImage = "hutch.fork-image";          // image removed with the sandbox
inline constexpr const char* kKind = "hutch.kind";                     // on images: fork|snapshot
inline constexpr const char* kSnapshotLabel = "hutch.snapshot-label";  // Handle::snapshot's label
inline constexpr const char* kSource = "hutch.source";                 // sandbox a fork/snapshot came from
inline constexpr const char* kCreated = "hutch.created";               // creation, ms since epoch
// On images `hutch image import` made from a rootfs ("true"): `hutch image prune` may remove
// them. Not hutch.managed, which sandbox prune reads as "a fork image of a gone owner".
inline constexpr const char* kImported = "hutch.imported";
// With the agent as PID 1: the host directory of its socket, and the user commands run as
// when a request names none (the spec's, else the image's). Absent: commands use the exec API.
inline constexpr const char* kAgentDir = "hutch.agent-dir";
inline constexpr const char* kAgentUser = "hutch.agent-user";
// What a command that sets nothing gets (SandboxInfo::defaults), as JSON (defaults_to_json):
// the image's Entrypoint/Cmd cannot be read back from the container, whose are the agent's.
inline constexpr const char* kDefaults = "hutch.defaults";

// The spec label through which a caller picks the workspace mode for one sandbox
// (overrides [backends.docker] workspace): "ephemeral", "persistent" or "none".
inline constexpr const char* kUserWorkspace = "hutch-workspace";
// With a persistent workspace: the volume's name (default "hutch-ws-<sandbox id>").
inline constexpr const char* kUserWorkspaceName = "hutch-workspace-name";

}  // namespace hutch::docker::label

namespace hutch::docker {

// The string labels of an engine object's "Labels" (an object, or null for none).
inline Labels labels_of(const boost::json::value* value) {
  Labels out;
  if (value == nullptr || !value->is_object()) return out;
  for (const auto& [key, item] : value->as_object())
    if (item.is_string()) out[std::string(key)] = std::string(item.as_string());
  return out;
}

// The Engine API's "label" filter values for managed objects carrying all of `labels`.
inline std::vector<std::string> label_filters(const Labels& labels) {
  std::vector<std::string> out{std::string(kLabelManaged) + "=true"};
  for (const auto& [key, value] : labels) out.push_back(key + "=" + value);
  return out;
}

// Whether `labels` carry every one of `filters` ("key=value", or "key" for any value): the
// engine's label filter, checked on this side. Podman 4.3 does not AND several label filters
// (an empty list for images, any match for volumes), so listings send at most one and check
// the rest here.
inline bool carries_labels(const Labels& labels, const std::vector<std::string>& filters) {
  for (const std::string& wanted : filters) {
    const auto equals = wanted.find('=');
    const auto found = labels.find(wanted.substr(0, equals));
    if (found == labels.end() || (equals != std::string::npos && found->second != wanted.substr(equals + 1)))
      return false;
  }
  return true;
}

}  // namespace hutch::docker
