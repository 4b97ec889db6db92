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
  // returns the stored image's id. `progress` (may be empty) hears each step: the manifest,
  // each layer's download (repeatedly, with the bytes so far), a layer found stored. Errors: Errc::invalid_argument for a
  // malformed name or content that does not match its digest, Errc::not_found when the
  // registry has no such image, Errc::permission_denied when it refuses access, Errc::io or
  // Errc::timeout for the network. Default: Errc::unsupported.
  virtual std::string pull_image(const std::string& image, const std::function<void(const PullProgress&)>& progress);

  // The images in the backend's store, sorted by first name (untagged ones by id), each with
  // the sandboxes made from it. Default: Errc::unsupported.
  virtual std::vector<ImageInfo> images();

  // One image by name or id, with its source, layers and config. Errc::not_found when the
  // store has no such image (nothing is pulled). Default: Errc::unsupported.
  virtual ImageInfo inspect_image(const std::string& image);

  // Removes an image by name or id: by name only that name goes (the image with it when it
  // was the last one); by id the image and all its names. Errc::not_found for an unknown
  // image, Errc::state while a sandbox is made from it (naming the sandbox) or other stored
  // images (snapshots) are layered on it. Default: Errc::unsupported.
  virtual void remove_image(const std::string& image);

  // Removes every image hutch pulled or imported (ImageInfo::managed) that no sandbox is
  // made from and no other image is layered on, then whatever storage only those images used
  // (subcontainer: layer blobs no stored image references). Snapshots and images hutch did
  // not make are kept. Returns the ids removed. Default: Errc::unsupported.
  virtual std::vector<std::string> prune_images();

  // Stores the image in `path` (a `docker save` or OCI layout archive, a rootfs tar in any
  // compression, or a rootfs directory) under `name` ("app:1"), replacing what that name
  // referred to, and returns its id. The image counts as managed. Errc::invalid_argument for
  // a bad name or content, Errc::not_found for a missing path. Default: Errc::unsupported.
  virtual std::string import_image(const std::string& path, const std::string& name);
};

// Throws Error(Errc::unsupported) "backend '<backend>' does not support <verb>".
[[noreturn]] HUTCH_API void throw_unsupported(const std::string& backend, const std::string& verb);

}  // namespace hutch
