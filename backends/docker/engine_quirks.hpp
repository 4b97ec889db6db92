// Where the engines behind the Docker Engine API differ, in one place. Each entry says what
// the engine does differently; the backend asks here instead of testing the engine's kind.
//
// Measured against Podman 4.3's Docker-compatible service (`podman system service`); dockerd
// is the reference.
#pragma once

#include "engine/client.hpp"

#include <string>
#include <vector>

namespace hutch::docker {

// Podman's archive API resolves a symlink named by `path`: HEAD reports the link's own mode
// (the Go symlink bit) but 404 when the link dangles, and GET sends what the link points to
// instead of the link. dockerd reports and sends the link itself. On Podman the link's stored
// target is therefore read with readlink(1) inside the sandbox.
bool archive_resolves_links(const EngineIdentity& engine);

// The name of an image as the engine lists it, in dockerd's short form: Podman lists the
// images it did not pull as "localhost/NAME:TAG" and the ones it committed or tagged with a
// short name as "docker.io/library/NAME:TAG"; dockerd lists "NAME:TAG" as tagged.
std::string short_image_name(const std::string& listed, const EngineIdentity& engine);

// Podman 4.3's POST /commit ignores the Labels of the body's container config; it applies
// Dockerfile instructions given as `changes` query parameters (which dockerd takes too).
bool commit_ignores_body_labels(const EngineIdentity& engine);

// Podman 4.3's POST /images/create?fromSrc= ignores the `tag` parameter (the image is named
// REPO:latest) but takes a tag inside `repo`.
bool import_ignores_tag_parameter(const EngineIdentity& engine);

// Podman's PUT /containers/ID/archive?path=DIR creates DIR and its missing parents; dockerd
// answers 404. Callers that must not create parents check first on Podman.
bool archive_put_creates_directories(const EngineIdentity& engine);

// Podman's DELETE /images/REF?force=true also removes every container made from the image;
// dockerd only untags it while containers use it. On Podman, untag through the libpod API
// (which Podman serves on the same socket) and delete without force.
bool forced_image_delete_removes_containers(const EngineIdentity& engine);

// Podman 4.3 applies containers.conf's default_ulimits only to a create request that names no
// ulimit; one that names any (fsize) gets Podman's built-in nofile/nproc instead, which a
// service under lower hard limits fails to set. dockerd keeps its defaults for the limits the
// request does not name. See podman_default_ulimits.hpp.
bool named_ulimits_replace_defaults(const EngineIdentity& engine);

// An exec's Env entry "NAME" without '=' removes NAME from the command's environment on
// dockerd; Podman 4.3 refuses the request ("badly formed, must be key=value"). On Podman the
// command is started through `sh` (which the sandboxes without the agent need anyway) that
// unsets the names first: unset_then_exec_argv.
bool exec_env_cannot_unset(const EngineIdentity& engine);

// argv run by /bin/sh after it unset each of `names` (passed as arguments, never as script
// text, so no name is ever parsed by the shell).
std::vector<std::string> unset_then_exec_argv(const std::vector<std::string>& names,
                                              const std::vector<std::string>& argv);

// The Dockerfile instruction that sets label `key` to `value`, each double-quoted with `"`
// and `\` escaped, so any text survives the engine's Dockerfile parser.
std::string label_instruction(const std::string& key, const std::string& value);

}  // namespace hutch::docker
