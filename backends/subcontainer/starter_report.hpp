// The report line of a program the host starts and reads one answer from
// (network/owned_process.hpp): "OK <pid>" or "ERR <why>" on fd 1. Shared by
// hutch-port-forwarder and hutch-pasta-helper; header-only, for programs without libhutch.
#pragma once

#include <unistd.h>

#include <cstdlib>
#include <string>

namespace hutch::subcontainer::starter {

// The report pipe, as OwnedProcess::start hands it over.
inline constexpr int kReportFd = 1;

inline void report(const std::string& line) {
  const std::string text = line + "\n";
  (void)!::write(kReportFd, text.data(), text.size());
}

// Reports "ERR <why>" and exits.
[[noreturn]] inline void fail(const std::string& why) {
  report("ERR " + why);
  std::_Exit(1);
}

}  // namespace hutch::subcontainer::starter
