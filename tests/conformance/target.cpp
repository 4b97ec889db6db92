#include "target.hpp"

#include <cctype>
#include <deque>

namespace hutch::conformance {
namespace {

std::deque<Target>& registry() {
  static std::deque<Target> all;  // a deque: pointers handed out stay valid as it grows
  return all;
}

}  // namespace

void register_target(Target target) { registry().push_back(std::move(target)); }

std::vector<const Target*> targets() {
  std::vector<const Target*> out;
  for (const auto& target : registry()) out.push_back(&target);
  return out;
}

void PrintTo(const Target* target, std::ostream* out) {
  *out << "backend '" << target->backend->name() << "'";
}

std::string TargetName::operator()(const ::testing::TestParamInfo<const Target*>& info) const {
  std::string name = info.param->backend->name();
  for (char& c : name)
    if (!std::isalnum(static_cast<unsigned char>(c))) c = '_';
  return name + "_" + std::to_string(info.index);
}

}  // namespace hutch::conformance
