// Linux capability names ("chown", "CAP_NET_RAW", "NET_BIND_SERVICE") to numbers, as the
// agent's --keep-caps and the subcontainer's keep set take them. Host side (libcap).
#pragma once

#include <optional>
#include <string>

namespace hutch::agent {

// The capability's number, or nullopt when libcap does not know the name.
std::optional<int> capability_from_name(const std::string& name);

}  // namespace hutch::agent
