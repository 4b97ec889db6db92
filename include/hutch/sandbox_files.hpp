// SandboxSpec::files: the checks every backend applies, and the staging every backend's create
// runs before it returns (written once here, through Handle::fs and Handle::exec).
#pragma once

#include <hutch/export.hpp>
#include <hutch/handle.hpp>
#include <hutch/types.hpp>

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <vector>

namespace hutch {

// Throws Error(invalid_argument) naming the entry ("files[3] '/etc/x': ...") for: a path that
// is not absolute, is "/" or holds a NUL byte, a path given twice, both content and source, a
// relative source, a mode beyond 07777, an owner that is not "uid" or "uid:gid".
HUTCH_API void validate_files(const std::vector<SandboxFile>& files);

// Makes the files' missing parent directories (0755, each once), then writes each file through
// sandbox.fs(), reading `source` files from the host in chunks, then gives files with an owner
// to it with `chown` run as root inside the sandbox (the image needs a chown). Errors name the sandbox and the file:
// Errc::not_found / Errc::io for an unreadable source, the Fs error otherwise.
HUTCH_API void stage_files(Handle& sandbox, const std::vector<SandboxFile>& files);

class ArchiveWriter;

// The files as entries of one tar to be unpacked at the sandbox's "/" (for a backend whose
// every Fs call is a round trip, as docker's archive API: a hundred files are then one
// request, not a few hundred). Paths are relative ("etc/app.conf"), each file with its mode
// and owned by uid:gid (the sandbox's user, as Fs writes give); missing parents are left to
// the unpacker. `source` files are read from the host in chunks. A file larger than
// `max_file_bytes` is refused (Errc::invalid_argument) before anything is written, and every
// error names the entry ("files[3] '/etc/x': ..."). SandboxFile::owner is not applied: give
// it with stage_files' chown, or refuse it.
HUTCH_API void add_files_to_archive(ArchiveWriter& tar, const std::vector<SandboxFile>& files,
                                    std::optional<std::uint64_t> max_file_bytes, std::uint32_t uid, std::uint32_t gid);

// A backend's way to stage a manifest into a new sandbox (stage_files, or its own).
using FileStager = std::function<void(Handle& sandbox, const std::vector<SandboxFile>& files)>;

// For a backend's create: stage the files (with `stage`, by default stage_files), and when
// that fails, destroy the sandbox and rethrow, so a failed create leaves nothing behind.
// Returns `sandbox`.
HUTCH_API std::shared_ptr<Handle> stage_files_or_destroy(std::shared_ptr<Handle> sandbox,
                                                         const std::vector<SandboxFile>& files,
                                                         const FileStager& stage = stage_files);

// For a client of a service (the remote backend), which may not name its own host's files to
// it: each file's `source` read here, on the caller's host, into its `content`. Errors as
// stage_files' for an unreadable source (Errc::not_found / Errc::io naming the entry).
HUTCH_API std::vector<SandboxFile> with_sources_read(std::vector<SandboxFile> files);

// The spec a backend records: the files' paths, modes and owners, not their contents.
HUTCH_API SandboxSpec without_file_contents(SandboxSpec spec);

}  // namespace hutch
