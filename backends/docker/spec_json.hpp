// SandboxSpec <-> JSON, stored in the sbx.spec label so that resume() from another process
// returns the spec the sandbox was created with and fork() can create its sibling.
#pragma once

#include <sbx/types.hpp>

#include <string>

namespace sbx::docker {

std::string spec_to_json(const SandboxSpec& spec);
// Throws Errc::backend when the text is not a spec written by spec_to_json.
SandboxSpec spec_from_json(const std::string& text);

}  // namespace sbx::docker
