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

bool named_ulimits_replace_defaults(const EngineIdentity& engine) {
  return engine.kind == EngineIdentity::Kind::podman;
}

bool exec_env_cannot_unset(const EngineIdentity& engine) { return engine.kind == EngineIdentity::Kind::podman; }

std::vector<std::string> unset_then_exec_argv(const std::vector<std::string>& names,
                                              const std::vector<std::string>& argv) {
  // $1 is the number of names that follow; the rest is the command. `command unset` skips a
  // name the shell cannot take instead of ending the shell (unset is a special built-in).
  std::vector<std::string> out{"/bin/sh", "-c",
                               "hutch_n=$1; shift; while [ \"$hutch_n\" -gt 0 ]; do command unset -v \"$1\" 2>/dev/null; "
                               "shift; hutch_n=$((hutch_n - 1)); done; unset -v hutch_n; exec \"$@\"",
                               "sh", std::to_string(names.size())};
  out.insert(out.end(), names.begin(), names.end());
  out.insert(out.end(), argv.begin(), argv.end());
  return out;
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
