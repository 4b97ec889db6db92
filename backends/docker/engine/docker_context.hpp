// Docker contexts, as the docker CLI stores them: the config directory ($DOCKER_CONFIG, else
// ~/.docker) holds config.json, whose "currentContext" names the context in use, and
// contexts/meta/<sha256 of the name>/meta.json, whose Endpoints.docker gives the daemon's Host
// and SkipTLSVerify; the context's certificates are in contexts/tls/<sha256>/docker/.
#pragma once

#include <filesystem>
#include <optional>
#include <string>

namespace hutch::docker {

struct DockerContext {
  std::string name;
  std::string host;                              // "unix:///...", "tcp://..."
  bool skip_tls_verify = false;                  // SkipTLSVerify
  std::optional<std::filesystem::path> tls_dir;  // set when the context stores certificates
};

// $DOCKER_CONFIG, else $HOME/.docker.
std::filesystem::path docker_config_dir();

// The context named by $DOCKER_CONTEXT, else config.json's currentContext; nullopt for none or
// "default" (the docker CLI's name for "no context": DOCKER_HOST or the default socket).
// Errc::config naming the context and where its name came from when it does not exist or its
// meta.json cannot be read.
std::optional<DockerContext> selected_context();

// The context called `name` in `config_dir`; `source` says where the name came from, for errors.
DockerContext load_context(const std::filesystem::path& config_dir, const std::string& name, const std::string& source);

}  // namespace hutch::docker
