#include "image_map.hpp"

#include <hutch/error.hpp>

namespace hutch::docker {

std::string ImageMap::resolve(const std::string& requested) const {
  if (requested.empty()) {
    if (default_) return *default_;
    throw Error(Errc::invalid_argument,
                "no image given and no default: set the sandbox image, or [backends.docker] "
                "default_image / image_map.default");
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

}  // namespace hutch::docker
