// SandboxSpec <-> JSON, for backends that persist the spec a sandbox was created with (the
// docker backend in a label, subcontainer in its state file), so resume() in another process
// returns it and fork() can create a sibling. Additive SDK header; layout of no type changes.
#pragma once

#include <hutch/export.hpp>
#include <hutch/types.hpp>

#include <string>

namespace hutch {

HUTCH_API std::string spec_to_json(const SandboxSpec& spec);
// Throws Errc::backend when the text is not a spec written by spec_to_json.
HUTCH_API SandboxSpec spec_from_json(const std::string& text);

// ImageDefaults <-> JSON {"entrypoint":[...],"cmd":[...],"env":{...},"workdir":"","user":""},
// for backends that keep them (a docker label). from_json throws Errc::backend on text it did
// not write.
HUTCH_API std::string defaults_to_json(const ImageDefaults& defaults);
HUTCH_API ImageDefaults defaults_from_json(const std::string& text);

}  // namespace hutch
