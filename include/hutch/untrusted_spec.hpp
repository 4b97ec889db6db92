// A SandboxSpec that comes from a client the host does not trust as itself — a future
// `hutch serve` request, a spec read from another user's file. Some fields make the process
// that calls create act on the host with its own rights; such a caller must refuse them.
//
// Host-only fields (keep this list in step with SandboxSpec):
//   files[].source  a host file read by the creating process (stage_files) — from a client it
//                   would read any file the server can (/etc/shadow, another user's keys).
//   ports[].host_ip other than loopback: a published port on the host's network — from a
//                   client it would open the host's interfaces to its sandbox.
// Not listed: bind and assets mounts name host paths too, but every backend checks them
// against its operator-configured bind_allow (none by default), whoever the caller is.
#pragma once

#include <hutch/export.hpp>
#include <hutch/types.hpp>

namespace hutch {

// Throws Error(Errc::invalid_argument) — a 400 from the service — naming the first host-only field set in `spec`
// ("files[2].source ('/etc/shadow') names a host file: only a local caller may use it; send
// the bytes as files[2].content"). The local CLI, acting as its user, does not call it.
HUTCH_API void refuse_host_only_fields(const SandboxSpec& spec);

}  // namespace hutch
