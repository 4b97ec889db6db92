// What a connection from inside a sandbox reads: the network tests' probe of what a sandbox
// can reach, on the bridge as root and through pasta without root.
#pragma once

#include <hutch/handle.hpp>

#include <cstdint>
#include <string>

namespace hutch::subcontainer::test {

// What a connection from `sandbox` to address:port reads, then "status=<the shell's status>",
// or the shell's error; given up after `timeout_s` seconds.
inline std::string fetch_from(Handle& sandbox, const std::string& address, std::uint16_t port, int timeout_s = 5) {
  ExecRequest request;
  request.argv = {"sh", "-c",
                  "timeout " + std::to_string(timeout_s) + " bash -c 'exec 3<>/dev/tcp/" + address + "/" +
                      std::to_string(port) + " && cat <&3' 2>&1; echo status=$?"};
  return sandbox.exec(request).stdout_data;
}

}  // namespace hutch::subcontainer::test
