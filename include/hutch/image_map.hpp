// Choosing the image for a sandbox from what the caller asked for (Go's SelectImage). The
// config's `image_map` maps names (typically agent or language names) to images: an exact key
// wins, then the longest key that is a prefix of the requested name. A name that matches no
// key is used as the image itself. An empty request takes the image of the command's program
// when the map has one (select), else the "default" entry. Configured in [defaults.image_map]
// and applied to every backend's spec by apply_config_policy (<hutch/spec_policy.hpp>).
#pragma once

#include <hutch/export.hpp>

#include <map>
#include <optional>
#include <string>
#include <vector>

namespace hutch {

class HUTCH_API ImageMap {
 public:
  void add(const std::string& name, const std::string& image) { entries_[name] = image; }
  void set_default(const std::string& image) { default_ = image; }
  bool has_default() const { return default_.has_value(); }
  bool empty() const { return entries_.empty() && !default_; }

  // Throws Errc::invalid_argument when `requested` is empty and there is no default.
  std::string resolve(const std::string& requested) const;

  // resolve(requested), except that an empty request first looks at the program the sandbox
  // is made for: `command`'s argv[0] without its directory, then without its trailing version
  // ("python3.11", then "python"), each as an exact key. nullopt when
  // nothing is requested, nothing matches and there is no default (the backend decides).
  std::optional<std::string> select(const std::string& requested, const std::vector<std::string>& command) const;

 private:
  std::map<std::string, std::string> entries_;
  std::optional<std::string> default_;
};

}  // namespace hutch
