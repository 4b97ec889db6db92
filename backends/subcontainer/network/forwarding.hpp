// IPv4 forwarding of the calling thread's network namespace (net.ipv4.ip_forward), which
// the bridge's NAT needs. Turned on, never off again: docker, podman and the administrator
// may rely on it as well.
#pragma once

namespace hutch::subcontainer::network {

// Sets net.ipv4.ip_forward to 1 unless it is. Errc::backend when it cannot.
void enable_ipv4_forwarding();

}  // namespace hutch::subcontainer::network
