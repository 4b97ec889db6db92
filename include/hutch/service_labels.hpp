// The labels the service (`hutch serve`) puts on the sandboxes it makes, through
// SandboxSpec::labels: the only labels with hutch's reserved prefix "hutch." that a spec may
// carry (validate() refuses every other). Backends keep them as they keep any label, so
// `list` filters on them and they survive a restart of the service.
#pragma once

namespace hutch {

// The service's instance id (kept in <state_dir>/serve/instance-id): the sandbox belongs to
// that service, not to a client process.
inline constexpr const char* kLabelService = "hutch.service";
// The tenant of the token that made the sandbox: only that tenant's tokens see it.
inline constexpr const char* kLabelTenant = "hutch.tenant";

}  // namespace hutch
