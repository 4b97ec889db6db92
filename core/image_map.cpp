#include <hutch/error.hpp>
#include <hutch/image_map.hpp>

#include <cctype>

namespace hutch {

std::string ImageMap::resolve(const std::string& requested) const {
  if (requested.empty()) {
    if (default_) return *default_;
    throw Error(Errc::invalid_argument,
                "no image given and no default: set the sandbox image, or [defaults.image_map] default");
  }
  if (auto exact = entries_.find(requested); exact != entries_.end()) return exact->second;
  const std::string* best = nullptr;
  std::size_t best_length = 0;
  for (const auto& [name, image] : entries_) {
    if (!name.empty() && requested.starts_with(name) && name.size() > best_length) {
      best = &image;
      best_length = name.size();
    }
  }
  return best != nullptr ? *best : requested;
}

std::optional<std::string> ImageMap::select(const std::string& requested, const std::vector<std::string>& command) const {
  if (!requested.empty()) return resolve(requested);
  if (!command.empty()) {
    std::string program = command.front();
    if (auto slash = program.rfind('/'); slash != std::string::npos) program.erase(0, slash + 1);
    // "python3.11": that name itself, then without its version, "python".
    std::string unversioned = program;
    while (!unversioned.empty() && (std::isdigit(static_cast<unsigned char>(unversioned.back())) || unversioned.back() == '.'))
      unversioned.pop_back();
    for (const std::string& name : {program, unversioned})
      if (auto exact = entries_.find(name); !name.empty() && exact != entries_.end()) return exact->second;
  }
  if (default_) return *default_;
  return std::nullopt;
}

}  // namespace hutch
