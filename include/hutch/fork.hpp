// Fork factories: how a sandbox makes a sibling with the same filesystem.
//
// Each backend may give its native factory (docker: commit + start a container from the
// image; subcontainer: freeze, copy the overlay upper layer, thaw). The core gives a generic
// one that creates a sandbox with the same spec through the backend and copies files across
// through Fs, so any backend that has an Fs can fork.
#pragma once

#include <hutch/export.hpp>
#include <hutch/handle.hpp>

#include <memory>
#include <string>
#include <vector>

namespace hutch {

class SandboxBackend;

class HUTCH_INTERFACE ForkFactory {
 public:
  virtual ~ForkFactory() = default;
  // Makes a new, running sandbox whose filesystem equals `source`'s. On failure the partial
  // copy is destroyed before the error is thrown.
  virtual std::shared_ptr<Handle> fork(Handle& source) = 0;
};

struct FsForkOptions {
  // Trees copied from the source; each must be absolute. Pseudo filesystems are never copied.
  std::vector<std::string> roots{"/"};
  // Paths (and everything below them) that are skipped.
  std::vector<std::string> excluded{"/proc", "/sys", "/dev"};
};

// The generic factory: backend.create(source.spec()), then copies every regular file,
// directory and symlink under options.roots through Fs (streamed; modes kept).
// The backend must outlive the factory.
HUTCH_API std::shared_ptr<ForkFactory> make_fs_copy_fork_factory(SandboxBackend& backend,
                                                                FsForkOptions options = {});

// Copies one tree between two Fs (also used by `hutch cp`). Directories are created as needed.
HUTCH_API void copy_tree(Fs& from, const std::string& from_path, Fs& to, const std::string& to_path);

}  // namespace hutch
