#include "capability_names.hpp"

#include <sys/capability.h>

#include <algorithm>
#include <cctype>

namespace hutch::agent {

std::optional<int> capability_from_name(const std::string& name) {
  std::string lowered = name;
  std::transform(lowered.begin(), lowered.end(), lowered.begin(), [](unsigned char c) { return std::tolower(c); });
  if (lowered.rfind("cap_", 0) != 0) lowered = "cap_" + lowered;
  cap_value_t value;
  if (cap_from_name(lowered.c_str(), &value) != 0) return std::nullopt;
  return value;
}

}  // namespace hutch::agent
