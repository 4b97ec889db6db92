// The graceful-stop tests of both backends: shell scripts that trap or ignore SIGTERM in a
// sandbox that sees a host directory at /shared, started in the background until they say
// they are ready.
#pragma once

#include <hutch/handle.hpp>

#include <gtest/gtest.h>

#include <sys/stat.h>

#include <chrono>
#include <filesystem>
#include <memory>
#include <string>
#include <thread>

namespace hutch::test {

// Writes "bye" to /shared/done when SIGTERM comes (its sleep gets one too and ends).
inline constexpr const char* kTrapTermScript =
    "trap 'echo bye > /shared/done; exit 0' TERM; echo > /shared/ready; while :; do sleep 1; done";
// Ignores SIGTERM (its sleep inherits that): only SIGKILL ends it.
inline constexpr const char* kIgnoreTermScript = "trap '' TERM; echo > /shared/ready; sleep 3600";

// A host directory for /shared that whoever runs in the sandbox may write.
inline std::filesystem::path make_shared_dir(const std::filesystem::path& parent) {
  auto dir = parent / "shared";
  std::filesystem::create_directories(dir);
  ::chmod(dir.c_str(), 0777);
  return dir;
}

// Starts `script` in the background of `sandbox`; returns once it wrote <shared>/ready.
inline std::unique_ptr<Process> start_until_ready(Handle& sandbox, const std::string& script,
                                                  const std::filesystem::path& shared) {
  ExecRequest request;
  request.argv = {"sh", "-c", script};
  auto process = sandbox.spawn(request);
  auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  while (!std::filesystem::exists(shared / "ready") && std::chrono::steady_clock::now() < give_up)
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  EXPECT_TRUE(std::filesystem::exists(shared / "ready")) << "the script never got ready";
  return process;
}

}  // namespace hutch::test
