// A fresh temporary directory, removed with everything in it when the object goes away.
// The one such helper of the test tree; every test that needs scratch space on the host uses it.
// Before it removes itself it ends the sandboxes still running from it and fails the test that
// left them (sandbox_leaks.hpp): a state directory must never vanish under a live sandbox.
#pragma once

#include "sandbox_leaks.hpp"

#include <hutch/error.hpp>

#include <stdlib.h>

#include <cerrno>
#include <filesystem>
#include <string>
#include <system_error>

namespace hutch::test {

class TempDir {
 public:
  // Creates <parent>/<prefix>XXXXXX (parent: $TMPDIR or /tmp). The path is canonical (no
  // symlink on the way), so tests can compare it with paths the code under test resolved.
  explicit TempDir(const std::string& prefix = "hutch-test-",
                   const std::filesystem::path& parent = std::filesystem::temp_directory_path()) {
    std::string pattern = (parent / (prefix + "XXXXXX")).string();
    if (::mkdtemp(pattern.data()) == nullptr) throw_system_error("mkdtemp " + pattern, errno);
    path_ = std::filesystem::canonical(pattern);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  ~TempDir() {
    end_sandboxes_left_in(path_);
    std::error_code ignored;
    std::filesystem::remove_all(path_, ignored);
  }

  const std::filesystem::path& path() const { return path_; }
  // path() / relative, for brevity at call sites.
  std::filesystem::path operator/(const std::filesystem::path& relative) const { return path_ / relative; }

 private:
  std::filesystem::path path_;
};

}  // namespace hutch::test
