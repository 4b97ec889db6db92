// The network code this backend shares with the docker backend lives in backends/egress
// (namespace hutch::egress: nftables, addresses, leases, the resolver and its policies, the
// default policy and the sandboxes' chains); the subcontainer's code uses it by its short names.
#pragma once

namespace hutch::egress {}

namespace hutch::subcontainer {
using namespace hutch::egress;
}

namespace hutch::subcontainer::network {
using namespace hutch::egress;
}
