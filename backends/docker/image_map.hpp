// Choosing the image for a sandbox from what the caller asked for. The config's `image_map`
// maps names (typically agent names) to images: an exact key wins, then the longest key that
// is a prefix of the requested name. A name that matches no key is used as the image itself.
// An empty request takes image_map's "default" entry, else `default_image`.
#pragma once

#include <map>
#include <optional>
#include <string>

namespace hutch::docker {

class ImageMap {
 public:
  void add(const std::string& name, const std::string& image) { entries_[name] = image; }
  void set_default(const std::string& image) { default_ = image; }
  bool empty() const { return entries_.empty() && !default_; }

  // Throws Errc::invalid_argument when `requested` is empty and there is no default.
  std::string resolve(const std::string& requested) const;

 private:
  std::map<std::string, std::string> entries_;
  std::optional<std::string> default_;
};

}  // namespace hutch::docker
