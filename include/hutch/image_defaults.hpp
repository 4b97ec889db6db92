// An image's defaults (Entrypoint, Cmd, Env, WorkingDir, User) as `docker run` applies them,
// written once for every backend: each backend reads the image's config (the Engine's image
// inspect, the subcontainer store's config.json) and calls these.
#pragma once

#include <hutch/export.hpp>
#include <hutch/types.hpp>

#include <string>
#include <vector>

namespace hutch {

// `image` under `spec`: spec.entrypoint replaces the entrypoint and drops the image's cmd
// (docker's --entrypoint); spec.env entries override the image's; spec.workdir and spec.user
// win when set. The workdir stays empty when neither gives one (the backend's fallback).
HUTCH_API ImageDefaults resolve_defaults(ImageDefaults image, const SandboxSpec& spec);

// The argv `request` runs in sandbox `sandbox_id` whose resolved defaults are `defaults`:
// request.argv as it is, or with request.use_entrypoint the entrypoint followed by
// request.argv (or by the cmd when argv is empty). Errc::invalid_argument naming the sandbox
// when that leaves nothing to run.
HUTCH_API std::vector<std::string> command_argv(const ExecRequest& request, const ImageDefaults& defaults,
                                                const std::string& sandbox_id);

// "K=V" entries (as images list them) -> Env; entries without '=' are skipped.
HUTCH_API Env env_from_entries(const std::vector<std::string>& entries);

}  // namespace hutch
