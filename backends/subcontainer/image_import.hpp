// Turns an archive into one flattened rootfs directory plus its metadata.
//
// Accepted: a plain rootfs tar (plain, gzip, bzip2, xz or zstd: what hutch::ArchiveReader reads), a `docker save` archive
// (manifest.json -> layer tars in order, config JSON -> Env/User/WorkingDir/Entrypoint+Cmd)
// and an OCI image layout archive (index.json -> manifest -> layer blobs). Layers are applied
// in order into ONE directory, honouring whiteouts (.wh.NAME deletes NAME from the layers
// below, .wh..wh..opq hides everything below a directory): one directory per image keeps
// overlayfs mounts to a single lower layer and costs only the disk of the final tree.
//
// Refused (Errc::permission_denied, the import fails): entries with ".." components, absolute
// paths, entries reached through a symlink, hardlinks pointing outside. Skipped with a
// warning: device nodes and sockets (an unprivileged sandbox cannot use them; /dev is
// provided at run time). Dropped: extended attributes other than user.* and POSIX ACLs
// (file capabilities, security labels, overlayfs metadata: see hutch::ArchiveExtractor), and
// the mode and owner of a "./" entry: the image root is always 0755, owned by root inside the
// sandbox. Setuid and setgid files are kept: images need them.
#pragma once

#include "image_store.hpp"

#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace spdlog {
class logger;
}

namespace hutch {
class ArchiveReader;
}

namespace hutch::subcontainer {

struct ImportOptions {
  OwnershipShift shift;
  bool progress = false;  // draw a bar on stderr (only when stderr is a terminal)
  std::shared_ptr<spdlog::logger> log;
};

struct ImportedImage {
  ImageConfig config;
  std::vector<std::string> tags;  // docker RepoTags / OCI ref.name annotations, as found
};

// Imports `archive_path` into `staging` (a directory that must not exist yet, on the same
// filesystem as the store): the result is <staging>/rootfs. Returns the image metadata.
// On failure the caller removes `staging`.
ImportedImage import_image(const std::filesystem::path& archive_path,
                         const std::filesystem::path& staging, const ImportOptions& options);

// Applies one layer (a tar stream) onto `rootfs`. With `whiteouts`, .wh. entries delete from
// what is already there instead of being extracted.
void apply_layer(ArchiveReader& layer, const std::filesystem::path& rootfs, bool whiteouts,
                 const ImportOptions& options, const std::function<void()>& on_progress = {});

// Creates `rootfs` (mode 0755, owned by root inside the sandbox) and applies `layers` (tar
// files, any compression ArchiveReader reads, bottom-most first) into it with whiteouts:
// one flattened directory. `label` names the image in messages, `layer_names` (one per layer:
// a pulled blob's digest, the manifest's path of an archive's layer) the layer: a layer that
// cannot be applied (a refused entry, a broken tar) fails with its error prefixed by
// "image '<label>' layer <name>: ". The caller removes a partial `rootfs`.
void build_rootfs(const std::vector<std::filesystem::path>& layers, const std::vector<std::string>& layer_names,
                  const std::filesystem::path& rootfs, const ImportOptions& options, const std::string& label);

// The Env/User/WorkingDir/Entrypoint/Cmd of a docker or OCI image config document, on top of
// default_image_config(). Errc::invalid_argument naming `what` when it is not JSON.
ImageConfig image_config_from_json(std::string_view document, const std::string& what);

// Reads a whole small file (manifests, configs, store indexes) with O_CLOEXEC, so no fd
// leaks into a helper the host starts meanwhile. nullopt when the file does not exist.
std::optional<std::string> read_small_file(const std::filesystem::path& file);

// The env/user/workdir every image gets unless its metadata says otherwise.
ImageConfig default_image_config();

}  // namespace hutch::subcontainer
