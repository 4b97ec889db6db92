// Runs the built `hutch` binary as a subprocess, the way a user or a script does, against the
// fake backend plugin with its state in a private temporary directory.
#pragma once

#include "host_files.hpp"
#include "temp_dir.hpp"

#include <boost/json.hpp>

#include <chrono>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

namespace hutch::test {

struct HutchResult {
  int exit_code = -1;  // 128+N when hutch itself was killed by signal N
  std::string out;
  std::string err;

  // The lines of stderr, for "exactly one line" checks.
  std::vector<std::string> err_lines() const;
};

// One running `hutch` process; its stdin gets `input` and is then closed.
class HutchProcess {
 public:
  HutchProcess(const std::vector<std::string>& args, const std::string& input);
  ~HutchProcess();
  HutchProcess(const HutchProcess&) = delete;
  HutchProcess& operator=(const HutchProcess&) = delete;

  int pid() const;
  // Waits (at most `limit`, then kills it and throws) and collects the result.
  HutchResult finish(std::chrono::seconds limit = std::chrono::seconds(60));

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

HutchResult run_hutch(const std::vector<std::string>& args, const std::string& input = {},
                  std::chrono::seconds limit = std::chrono::seconds(60));

// Parses stdout as JSON; a parse failure fails the calling test with the text.
boost::json::value parse_json(const std::string& text);

}  // namespace hutch::test
