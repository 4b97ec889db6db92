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
// The warm pool ([serve.pools.NAME]) a sandbox was made for. It stays after the hand-out (a
// backend cannot change labels after create): the service itself records which pool
// sandboxes it handed out (server/pools.hpp).
inline constexpr const char* kLabelPool = "hutch.pool";

}  // namespace hutch
