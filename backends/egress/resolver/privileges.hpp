// The resolver parses what sandboxes send: once its port is bound, it keeps only what filling
// the domain rules' sets needs (CAP_NET_ADMIN, for nftables), and can never gain more.
#pragma once

namespace hutch::egress::resolver {

// Drops every capability but CAP_NET_ADMIN (permitted, effective; none inheritable, the
// bounding set emptied of the rest) and sets no_new_privs. Throws std::system_error.
void keep_only_net_admin();

}  // namespace hutch::egress::resolver
