#include "podman_default_ulimits.hpp"

#include <hutch/config.hpp>
#include <hutch/error.hpp>

#include <spdlog/spdlog.h>

#include <algorithm>
#include <charconv>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <unistd.h>

namespace hutch::docker {

namespace {

std::int64_t parse_limit(const std::string& entry, std::string_view text) {
  std::int64_t value = 0;
  const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (text.empty() || error != std::errc{} || end != text.data() + text.size() || value < -1)
    throw Error(Errc::invalid_argument, "default_ulimits entry '" + entry + "': '" + std::string(text) +
                                            "' is not a limit (a number, or -1 for unlimited)");
  return value;
}

std::vector<std::filesystem::path> sorted_drop_ins(const std::filesystem::path& dir) {
  std::vector<std::filesystem::path> files;
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator(dir, ec))
    if (entry.path().extension() == ".conf") files.push_back(entry.path());
  std::sort(files.begin(), files.end());
  return files;
}

}  // namespace

Ulimit parse_podman_ulimit(const std::string& entry) {
  const auto equals = entry.find('=');
  if (equals == std::string::npos || equals == 0)
    throw Error(Errc::invalid_argument, "default_ulimits entry '" + entry + "': expected NAME=SOFT:HARD");
  Ulimit limit;
  limit.name = entry.substr(0, equals);
  const std::string_view values = std::string_view(entry).substr(equals + 1);
  const auto colon = values.find(':');
  limit.soft = parse_limit(entry, values.substr(0, colon));
  limit.hard = colon == std::string_view::npos ? limit.soft : parse_limit(entry, values.substr(colon + 1));
  return limit;
}

std::vector<std::filesystem::path> podman_containers_conf_files() {
  std::vector<std::filesystem::path> files{"/usr/share/containers/containers.conf", "/etc/containers/containers.conf"};
  for (auto& drop_in : sorted_drop_ins("/etc/containers/containers.conf.d")) files.push_back(std::move(drop_in));
  if (::geteuid() != 0) {
    std::filesystem::path config_home;
    if (const char* xdg = std::getenv("XDG_CONFIG_HOME"); xdg && *xdg) config_home = xdg;
    else if (const char* home = std::getenv("HOME"); home && *home) config_home = std::filesystem::path(home) / ".config";
    if (!config_home.empty()) {
      files.push_back(config_home / "containers/containers.conf");
      for (auto& drop_in : sorted_drop_ins(config_home / "containers/containers.conf.d"))
        files.push_back(std::move(drop_in));
    }
  }
  return files;
}

std::vector<Ulimit> podman_default_ulimits(const std::vector<std::filesystem::path>& files) {
  std::vector<Ulimit> result;
  for (const auto& file : files) {
    std::ifstream in(file);
    if (!in) continue;  // most of the files Podman looks for do not exist
    std::ostringstream text;
    text << in.rdbuf();
    try {
      const ConfigTable root = ConfigTable::parse(text.str(), file.string());
      const auto containers = root.get_table("containers");
      if (!containers || !containers->contains("default_ulimits")) continue;
      std::vector<Ulimit> limits;
      for (const auto& entry : containers->get_string_array("default_ulimits").value_or(std::vector<std::string>{}))
        limits.push_back(parse_podman_ulimit(entry));
      result = std::move(limits);
    } catch (const Error& e) {
      spdlog::warn("docker backend: ignoring the default_ulimits of {}: {}", file.string(), e.what());
    }
  }
  return result;
}

}  // namespace hutch::docker
