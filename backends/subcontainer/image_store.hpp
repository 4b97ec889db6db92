// The image store of the subcontainer backend: what a sandbox's root filesystem is made of.
//
// An image is one or more read-only layer directories (top-most first, ready for overlayfs
// lowerdir=) plus metadata (env, default user, workdir, cmd), in the spirit of StartOS's
// image env file / user / workdir. Refs accepted by resolve():
//   "host"            a read-only view of the host: a generated skeleton rootfs whose /usr,
//                     /bin, /lib*, /sbin are host binds (or symlinks where the host has them)
//   "/abs/dir"        an existing rootfs directory, used in place (not copied)
//   "/abs/x.tar[.gz]" a plain rootfs tar, a `docker save` archive or an OCI layout archive,
//                     imported on first use and cached by content hash
//   "name" or "id"    an image imported earlier (import_archive, commit_layer)
//
// On disk (<root> is the image_store config key, default <state_dir>/subcontainer/images):
//   <root>/host/rootfs/              the host skeleton, regenerated when missing
//   <root>/<id>/rootfs/              one flattened layer (imports apply all archive layers
//                                    into this one directory, whiteouts honoured)
//   <root>/<id>/config.json          metadata, parent image (for committed layers), source
//   <root>/names.json                name -> id
//   <root>/sources.json              tarball (path, size, mtime) -> id, saves re-hashing
// Every write is atomic (temp dir/file + rename) and serialized by a lock file, so several
// hutch processes can share one store.
//
// The store's root directory is mode 0700: nothing in it is reachable for another host user,
// so the setuid files images carry (they need them) cannot be run from the host. Sandboxes
// do not reach it either: as root, the helper opens their layers (id_ranges.hpp).
#pragma once

#include <hutch/types.hpp>

#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

namespace spdlog {
class logger;
}

namespace hutch::subcontainer {

struct ImageConfig {
  std::vector<std::string> env;  // "K=V"
  std::string user;              // "name", "uid" or "uid:gid"; empty = root
  std::string workdir;           // empty: none given ("/" unless the sandbox has a workspace)
  std::vector<std::string> entrypoint;  // Entrypoint, kept apart from Cmd (--entrypoint replaces it)
  std::vector<std::string> cmd;         // Cmd: the entrypoint's default arguments (may be empty)
};

struct HostBind {
  std::filesystem::path source;  // host directory
  std::string target;            // absolute path inside the sandbox
};

struct ResolvedImage {
  std::string ref;                                // canonical ref: "host", a path, or an id
  std::vector<std::filesystem::path> lower_dirs;  // top-most first, for overlayfs lowerdir=
  std::vector<HostBind> ro_binds;                 // host image: bind read-only onto the root
  ImageConfig config;
};

// How ownership of imported files maps to the host. When the host process is root, files are
// stored in the store range (id_ranges.hpp) that starts at `uid_base`: a file a tar says
// belongs to uid N is stored as uid_base + N (ids >= uid_count become the overflow id), and
// every sandbox sees it as N through an idmapped mount. Rootless, files belong to the
// invoking user, which is root inside.
struct OwnershipShift {
  std::uint32_t uid_base = 0;
  std::uint32_t uid_count = 0;  // 0: no shift (store ids as the archive says, or as the user)
};

struct ImageInfo {
  std::string id;
  std::vector<std::string> names;
  std::string parent;  // id or ref of the base image, for committed layers
  std::string source;  // the tarball, upper dir or label it came from
  std::uint64_t created_unix = 0;
  std::vector<std::string> layers;  // digests of the pulled blobs it was built from, bottom-most first
  ImageConfig config;
};

class ImageStore {
 public:
  ImageStore(std::filesystem::path root, std::shared_ptr<spdlog::logger> log,
             OwnershipShift shift = {});

  // Resolves (and, for a tarball, imports) `ref`. Errc::not_found for an unknown name or a
  // missing path; Errc::invalid_argument for a relative path that is not a stored name.
  ResolvedImage resolve(const std::string& ref);

  // Imports an archive (plain rootfs tar, docker save, OCI layout; any compression libarchive
  // reads) and returns its id; `name` (may be empty) is recorded for it, else the archive's
  // own tags (RepoTags, OCI ref names) are. Importing the same content twice is a no-op that
  // returns the existing id. `progress` draws a bar on stderr when stderr is a terminal.
  // Leftovers of an import that crashed are removed when a store is next opened.
  std::string import_archive(const std::filesystem::path& tar, const std::string& name,
                             bool progress);

  // Snapshot: stores a copy of the overlay upper dir `upper_dir` as a new layer on top of
  // `base_ref` and returns the new image's id. `label` is kept as its name when non-empty;
  // `source` (the snapshotted sandbox's id) is what SnapshotInfo::source_sandbox reports.
  // `upper_root_uid`/`upper_root_gid`: the host ids root inside the sandbox has, which the
  // copy moves into the store range (nothing moves rootless, where the shift is empty).
  std::string commit_layer(const std::filesystem::path& upper_dir, const std::string& base_ref,
                           const std::string& label, const std::string& source = "",
                           std::uint32_t upper_root_uid = 0, std::uint32_t upper_root_gid = 0);

  // Stores image `id` (64 hex digits) built from layer tars, bottom-most first (see
  // build_rootfs in image_import.hpp), unless it is stored already, and records `name` (may be
  // empty) for it. `source` is what ImageInfo::source reports. Returns true when it built it.
  // Serialized with every other change to the store: a second caller waits and finds it.
  // `layer_digests` (the blobs' digests, in the order of `layers`) are recorded so prune keeps
  // the blobs of stored images (referenced_blobs); a layer that cannot be applied fails the
  // call with an error naming its digest, and nothing of the image is kept.
  bool add_layered_image(const std::string& id, const std::vector<std::filesystem::path>& layers,
                         const std::vector<std::string>& layer_digests, const ImageConfig& config,
                         const std::string& name, const std::string& source);

  // Copies the rootfs directory `dir` into the store as a new image named `name` (the name
  // moves to it from whatever it named before) and returns its id. Ownership moves into the
  // store range as a snapshot's does: host root's files become root's inside the sandbox.
  std::string import_directory(const std::filesystem::path& dir, const std::string& name);

  // Digests of the blobs any stored image (deleted ones included) was built from.
  std::set<std::string> referenced_blobs();

  // Bytes the image's own layer takes on disk (its parents not counted).
  std::uint64_t disk_usage(const std::string& id) const;

  // The id a name or id refers to; nullopt when nothing stored has it.
  std::optional<std::string> find_id(const std::string& name_or_id);

  // Where pulled layer blobs are kept (blob_store.hpp).
  std::filesystem::path blob_root() const { return root_ / "blobs"; }

  // True when `dir` lies in the store (a layer of an imported image, a snapshot or the host
  // skeleton), whose files are owned by the store range.
  bool holds(const std::filesystem::path& dir) const;

  // Names of named images, ids of the unnamed ones.
  std::vector<std::string> list();
  std::vector<ImageInfo> images();

  // Who uses a stored image (by id) as a lower layer, e.g. "sandbox 3f2a..", or empty.
  using InUse = std::function<std::string(const std::string& id)>;

  // Removes a name; the layer itself goes when no name and no child image refers to it.
  // When `in_use` names a user of a layer that would go, the image is marked deleted instead:
  // no longer listed nor resolvable, its layer kept until collect_deleted finds it unused.
  // Errc::state when removing by id an image other stored images are layered on;
  // Errc::not_found when unknown.
  // The layer is marked deleted before `in_use` is asked, so a sandbox being created either
  // shows up in `in_use` or finds the mark (still_stored) and gives up: see lifecycle.cpp.
  void remove(const std::string& ref, const InUse& in_use = {});

  // False when `ref`, as resolve returned it, is a stored image that was deleted since.
  bool still_stored(const std::string& ref) const;

  // Removes the layers of deleted images that no sandbox (`in_use`) and no child image uses
  // any more; returns their ids.
  std::vector<std::string> collect_deleted(const InUse& in_use);

  const std::filesystem::path& root() const { return root_; }

 private:
  struct Lock;
  std::filesystem::path root_;
  std::shared_ptr<spdlog::logger> log_;
  OwnershipShift shift_;

  void remove_stale_staging();
  void remove_layer(const std::string& id);
  bool is_deleted(const std::string& id) const;
  // Every image directory, deleted ones included.
  std::vector<ImageInfo> stored_images();
  ResolvedImage resolve_host();
  ResolvedImage resolve_stored(const std::string& id, const std::string& ref);
  void add_names(const std::string& id, const std::vector<std::string>& names);
  std::string import_locked(const std::filesystem::path& tar, const std::string& name,
                            bool progress);
};

}  // namespace hutch::subcontainer
