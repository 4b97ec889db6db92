// A docker CLI configuration of the test's own: $DOCKER_CONFIG points at a fresh directory
// with the config.json the test writes, and $PATH starts with a directory of docker credential
// helpers (docker-credential-<name> shell scripts) the test writes. Both variables are
// restored when it goes.
#pragma once

#include "scoped_env.hpp"
#include "temp_dir.hpp"

#include <sys/stat.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

namespace hutch::test {

class DockerCliConfig {
 public:
  DockerCliConfig()
      : helpers_(make_bin(dir_)),
        docker_config_("DOCKER_CONFIG", dir_.path().string()),
        path_("PATH", helpers_.string() + ":" + (std::getenv("PATH") != nullptr ? std::getenv("PATH") : "/usr/bin:/bin")) {}

  void write_config(const std::string& json) const { std::ofstream(dir_ / "config.json") << json; }

  // Writes docker-credential-<name>: a script that refuses any verb but `get`, reads the
  // request from stdin into $request, appends it to requests_of(name) and runs `body`.
  void add_helper(const std::string& name, const std::string& body) const {
    const std::filesystem::path script = helpers_ / ("docker-credential-" + name);
    std::ofstream(script) << "#!/bin/sh\n[ \"$1\" = get ] || exit 2\nrequest=$(cat)\n"
                             "printf '%s\\n' \"$request\" >>\"$0.requests\"\n"
                          << body << "\n";
    ::chmod(script.c_str(), 0755);
  }
  // A helper that hands out `username` and `secret` for every server.
  void add_answering_helper(const std::string& name, const std::string& username, const std::string& secret) const {
    add_helper(name, "printf '{\"ServerURL\":\"%s\",\"Username\":\"" + username + "\",\"Secret\":\"" + secret +
                         "\"}' \"$request\"");
  }
  // A helper that holds no login, as docker-credential-helpers' helpers say it.
  void add_empty_helper(const std::string& name) const {
    add_helper(name, "echo 'credentials not found in native keychain'; exit 1");
  }

  // Every request the helper got, one a line; "" when it never ran.
  std::string requests_of(const std::string& name) const {
    std::ifstream in(helpers_ / ("docker-credential-" + name + ".requests"));
    std::stringstream text;
    text << in.rdbuf();
    return text.str();
  }

 private:
  static std::filesystem::path make_bin(const TempDir& dir) {
    std::filesystem::create_directory(dir / "bin");
    return dir / "bin";
  }

  TempDir dir_{"hutch-docker-config-"};
  std::filesystem::path helpers_;
  ScopedEnv docker_config_;
  ScopedEnv path_;
};

}  // namespace hutch::test
