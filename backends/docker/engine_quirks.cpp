#include "engine_quirks.hpp"

namespace hutch::docker {

bool archive_resolves_links(const EngineIdentity& engine) { return engine.kind == EngineIdentity::Kind::podman; }

std::string short_image_name(const std::string& listed, const EngineIdentity& engine) {
  if (engine.kind != EngineIdentity::Kind::podman) return listed;
  for (std::string_view prefix : {"localhost/", "docker.io/library/"})
    if (listed.starts_with(prefix)) return listed.substr(prefix.size());
  return listed;
}

bool commit_ignores_body_labels(const EngineIdentity& engine) { return engine.kind == EngineIdentity::Kind::podman; }

bool import_ignores_tag_parameter(const EngineIdentity& engine) { return engine.kind == EngineIdentity::Kind::podman; }

bool archive_put_creates_directories(const EngineIdentity& engine) { return engine.kind == EngineIdentity::Kind::podman; }

bool forced_image_delete_removes_containers(const EngineIdentity& engine) {
  return engine.kind == EngineIdentity::Kind::podman;
}

std::string label_instruction(const std::string& key, const std::string& value) {
  auto quoted = [](const std::string& text) {
    std::string out = "\"";
    for (char c : text) {
      if (c == '"' || c == '\\') out += '\\';
      out += c;
    }
    return out + "\"";
  };
  return "LABEL " + quoted(key) + "=" + quoted(value);
}

}  // namespace hutch::docker
