// Creating and removing sandbox containers — shared by the backend (create, restore, destroy,
// prune) and the handle (fork, destroy).
#pragma once

#include "context.hpp"

#include <hutch/types.hpp>

#include <boost/json/object.hpp>

#include <filesystem>
#include <memory>
#include <optional>
#include <string>

namespace hutch::docker {

class DockerHandle;

struct CreateOptions {
  std::optional<std::string> image;  // use this image as is (fork, restore) instead of resolving spec.image
  std::optional<std::string> id;     // sandbox id to use (default: a new "hutch-<hex>")
  Labels extra_labels;               // hutch.* labels to add (fork image, source)
};

// Creates and starts a container for `spec`. Whatever was made before a failure (volume,
// container) is removed before the error is rethrown.
std::shared_ptr<DockerHandle> create_sandbox(const std::shared_ptr<Context>& context, const SandboxSpec& spec,
                                             const CreateOptions& options = {});

// The sandbox's SIGTERM-to-SIGKILL grace: its spec's, else the backend's default.
Duration stop_grace(const Context& context, const SandboxSpec& spec);

// Stops the container: SIGTERM to its PID 1 (with the agent: to every process, agent/
// sandbox_stop.hpp), SIGKILL after the sandbox's grace (at once for 0). A paused container is
// unpaused first; a stopped or missing one is fine.
void stop_container(Context& context, const std::string& id, const SandboxSpec& spec, bool paused);

// POST /containers/{id}/start, then (with the agent, label hutch.agent-dir) waits until the
// agent listens.
void start_container(Context& context, const std::string& id, const Labels& labels);

// GET /containers/{id}/json; Errc::not_found when there is no such container.
boost::json::object inspect_container(Context& context, const std::string& id);
// State.Paused of that inspect (paused by hutch, `docker pause` or anyone); false when the
// container is gone.
bool container_paused(Context& context, const std::string& id);

// The error for `what` (may be empty) failing because container `id` was paused outside this handle.
Error paused_elsewhere(const std::string& what, const std::string& id);

// The error for sandbox `id` being stopped (Errc::state), with the verbs that go on from there.
Error stopped_sandbox(const std::string& id);

// Why the engine may have refused `what` on container `id`, read from its state: paused
// (paused_elsewhere) or not running (stopped_sandbox); nullopt when it runs or is gone. The
// engines answer differently for this (dockerd 409, Podman 500 "container state improper"), so
// callers ask the state instead of reading the status.
std::optional<Error> state_refusal(Context& context, const std::string& id, const std::string& what);

// Stops (grace period, then SIGKILL), removes the container and its anonymous volumes, its
// ephemeral workspace volume and its fork image. Idempotent: a missing container is fine.
void remove_sandbox(Context& context, const std::string& id);

// Frees what sandbox `id` held on hutch's network (egress_network.hpp), once its container is
// gone; failures are logged (prune tries again).
void release_egress(Context& context, const std::string& id);

// DELETE /images/{reference}. A missing image is fine; one still in use is logged and kept
// (returns false then, true when it is gone).
bool remove_image(Context& context, const std::string& reference);

// DELETE /volumes/{name}. A missing volume is fine; one still in use by a container is logged
// and kept.
void remove_volume(Context& context, const std::string& name);
// POST /volumes/create of volume `name` with `labels`; returns the name.
std::string create_volume(Context& context, const std::string& name, const Labels& labels);

// Turns inspect output (or a list entry) into SandboxInfo.
// `state_dir`: the backend's, where the sandbox's host directory (sandbox_dir.hpp) tells its
// lifetimes and whether it was stopped on purpose or expired.
SandboxInfo sandbox_info_from_inspect(const std::string& backend_name, const boost::json::object& inspect,
                                      const std::filesystem::path& state_dir);

}  // namespace hutch::docker
