// The /workspace rules shared by every backend (see <hutch/workspace.hpp>).
#include <hutch/error.hpp>
#include <hutch/fs.hpp>
#include <hutch/workspace.hpp>

#include <cctype>

namespace hutch {

void validate_volume_name(const std::string& name, const std::string& what) {
  constexpr std::size_t kMaxLength = 128;
  bool ok = !name.empty() && name.size() <= kMaxLength && std::isalnum(static_cast<unsigned char>(name.front())) &&
            name.find("..") == std::string::npos;
  for (char c : name)
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '.' || c == '-')) ok = false;
  if (!ok)
    throw Error(Errc::invalid_argument, what + " '" + name + "' is not a valid volume name: use 1-" +
                                            std::to_string(kMaxLength) +
                                            " characters of [A-Za-z0-9_.-], starting with a letter or digit, "
                                            "without '..'");
}

void validate_workspace(const std::string& workspace) {
  if (workspace.empty() || workspace == kWorkspaceEphemeral || workspace == kWorkspaceNone) return;
  validate_volume_name(workspace, "workspace");
}

Workspace workspace_of(const SandboxSpec& spec) {
  for (const auto& mount : spec.mounts)
    if (normalize_sandbox_path(mount.target) == kWorkspaceTarget) return {WorkspaceKind::none, {}};
  if (spec.workspace.empty() || spec.workspace == kWorkspaceEphemeral) return {WorkspaceKind::ephemeral, {}};
  if (spec.workspace == kWorkspaceNone) return {WorkspaceKind::none, {}};
  return {WorkspaceKind::named, spec.workspace};
}

void refuse_named_workspace(const SandboxSpec& spec, const std::string& backend) {
  const Workspace workspace = workspace_of(spec);
  if (workspace.kind == WorkspaceKind::named)
    throw Error(Errc::unsupported, "backend '" + backend + "' has no persistent volumes, so workspace '" +
                                       workspace.volume + "' cannot be kept; use --workspace ephemeral or none");
}

std::string fallback_working_directory(const SandboxSpec& spec) {
  if (workspace_of(spec).kind != WorkspaceKind::none) return kWorkspaceTarget;
  return "/";
}

}  // namespace hutch
