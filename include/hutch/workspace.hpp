// SandboxSpec::workspace: what it may say and what it means, for every backend.
#pragma once

#include <hutch/export.hpp>
#include <hutch/types.hpp>

#include <optional>
#include <string>

namespace hutch {

enum class WorkspaceKind { none, ephemeral, named };

struct Workspace {
  WorkspaceKind kind = WorkspaceKind::ephemeral;
  std::string volume;  // the persistent volume's name, for WorkspaceKind::named
};

// Throws Error(invalid_argument) unless `workspace` is empty, "ephemeral", "none" or a volume
// name: 1-128 characters of [A-Za-z0-9_.-], starting with a letter or digit, without "..".
HUTCH_API void validate_workspace(const std::string& workspace);

// Checks a persistent volume's name (the rule above); `what` starts the message.
HUTCH_API void validate_volume_name(const std::string& name, const std::string& what);

// What the spec asks for: ephemeral when empty; none when one of spec.mounts already targets
// kWorkspaceTarget (the caller's own mount wins).
HUTCH_API Workspace workspace_of(const SandboxSpec& spec);

// For a backend without persistent volumes (capabilities().volumes false): Errc::unsupported
// naming the volume when `spec` asks for a named workspace; ephemeral and none pass.
HUTCH_API void refuse_named_workspace(const SandboxSpec& spec, const std::string& backend);

// The working directory of a command whose request, spec (-w, then [defaults] workdir) and
// image (WorkingDir; see resolve_defaults) name none: kWorkspaceTarget when a workspace is
// mounted, else "/" (Docker's and StartOS's order).
HUTCH_API std::string fallback_working_directory(const SandboxSpec& spec);

}  // namespace hutch
