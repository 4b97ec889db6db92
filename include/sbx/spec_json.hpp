// SandboxSpec <-> JSON, for backends that persist the spec a sandbox was created with (the
// docker backend in a label, subcontainer in its state file), so resume() in another process
// returns it and fork() can create a sibling. Additive SDK header; layout of no type changes.
#pragma once

#include <sbx/export.hpp>
#include <sbx/types.hpp>

#include <string>

namespace sbx {

SBX_API std::string spec_to_json(const SandboxSpec& spec);
// Throws Errc::backend when the text is not a spec written by spec_to_json.
SBX_API SandboxSpec spec_from_json(const std::string& text);

}  // namespace sbx
