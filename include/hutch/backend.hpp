// SandboxBackend: an engine that makes sandboxes (docker, subcontainer, a third party's).
//
// One backend object is made per configuration by the plugin's factory and may be used from
// several threads. It must be cheap to construct: talking to an engine happens on first use,
// so `hutch backends` can list a backend whose daemon is down.
#pragma once

#include <hutch/export.hpp>
#include <hutch/handle.hpp>
#include <hutch/types.hpp>

#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace hutch {

class HUTCH_INTERFACE SandboxBackend {
 public:
  virtual ~SandboxBackend() = default;

  // The backend's name as used in config and on the command line ("docker", "subcontainer").
  virtual std::string name() const = 0;
  virtual Capabilities capabilities() const = 0;

  // Creates and starts a sandbox. On failure nothing is left behind: whatever was made before
  // the error is removed before it is thrown. Errc::invalid_argument for a bad spec (naming the
  // field), Errc::not_found for a missing image, Errc::permission_denied for a refused mount.
  virtual std::shared_ptr<Handle> create(const SandboxSpec& spec) = 0;

  // A handle on an existing sandbox, from this or another process. Errc::not_found if there is
  // no such sandbox.
  virtual std::shared_ptr<Handle> resume(const std::string& id) = 0;

  // The sandboxes this backend manages (labelled hutch.managed) that match `filter`.
  virtual std::vector<SandboxInfo> list(const Filter& filter = {}) = 0;

  // Destroys by id; idempotent (an unknown id is not an error).
  virtual void destroy(const std::string& id) = 0;

  // Destroys every managed sandbox whose owner process is gone or whose ttl / idle timeout has
  // passed — or every managed one with filter.all — and returns their ids. Also removes other
  // leaked resources the backend knows (fork images, ephemeral volumes).
  virtual std::vector<std::string> prune(const Filter& filter = {}) = 0;

  // Starts a new sandbox from a snapshot made by Handle::snapshot. `overrides` may change
  // everything but the filesystem; its image field is ignored.
  virtual std::shared_ptr<Handle> restore(const std::string& snapshot_id,
                                          const SandboxSpec& overrides);
  virtual std::vector<SnapshotInfo> snapshots();
  virtual void delete_snapshot(const std::string& snapshot_id);

  // The backend's persistent volumes (named workspaces, volume mounts' sources), sorted by
  // name, each with the sandboxes that use it. Errc::unsupported without
  // capabilities().volumes.
  virtual std::vector<VolumeInfo> volumes();
  // Deletes a persistent volume and its content. Errc::not_found for an unknown name,
  // Errc::state while a sandbox uses it (naming the sandbox), Errc::unsupported without
  // capabilities().volumes.
  virtual void remove_volume(const std::string& name);

  // What an operator should know about this backend's isolation on this host, as configured,
  // one sentence each, with what fixes it (e.g. the Docker engine runs without user
  // namespaces, so sandboxes share host root's kernel quotas; disk is not limited). May ask
  // the engine; shown by `hutch backends`.
  // Errors reaching the engine are thrown as usual. Default: none.
  virtual std::vector<std::string> warnings();

  // Fetches `image` (a registry name: "python:3.12-slim", "host:5000/app@sha256:..") from its
  // registry into the backend's image store, whatever the [images] pull policy says, and
  // returns the stored image's id. `progress` (may be empty) gets one plain line per step:
  // the manifest, each layer downloaded or found stored. Errors: Errc::invalid_argument for a
  // malformed name or content that does not match its digest, Errc::not_found when the
  // registry has no such image, Errc::permission_denied when it refuses access, Errc::io or
  // Errc::timeout for the network. Default: Errc::unsupported.
  virtual std::string pull_image(const std::string& image, const std::function<void(const std::string&)>& progress);
};

// Throws Error(Errc::unsupported) "backend '<backend>' does not support <verb>".
[[noreturn]] HUTCH_API void throw_unsupported(const std::string& backend, const std::string& verb);

}  // namespace hutch
