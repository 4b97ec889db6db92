// SandboxSpec <-> JSON, for backends that persist the spec a sandbox was created with (the
// docker backend in a label, subcontainer in its state file), so resume() in another process
// returns it and fork() can create a sibling. Additive SDK header; layout of no type changes.
#pragma once

#include <hutch/export.hpp>
#include <hutch/types.hpp>

#include <string>
#include <vector>

namespace hutch {

HUTCH_API std::string spec_to_json(const SandboxSpec& spec);
// Throws Errc::backend when the text is not a spec written by spec_to_json.
HUTCH_API SandboxSpec spec_from_json(const std::string& text);
// The same form from outside (the service's `POST /v1/sandboxes`): every field is checked —
// a wrong type, a value out of range or an unknown field is Errc::invalid_argument naming the
// field ("field 'mounts[0].target': expected a string, got a number"); bad JSON likewise.
// Absent fields (and null) keep SandboxSpec's defaults.
HUTCH_API SandboxSpec spec_from_request_json(const std::string& text);
// The spec's "egress" field alone (a JSON array of {"action", "destination"}), for the service's
// PATCH and the remote backend's Handle::set_egress: egress_to_json writes it, and
// egress_from_request_json reads it as spec_from_request_json reads that field
// (Errc::invalid_argument naming it: "field 'egress[0].action': ..."). The rules' contents are
// checked by hutch::validate_egress.
HUTCH_API std::string egress_to_json(const std::vector<EgressRule>& rules);
HUTCH_API std::vector<EgressRule> egress_from_request_json(const std::string& text);

// ImageDefaults <-> JSON {"entrypoint":[...],"cmd":[...],"env":{...},"workdir":"","user":""},
// for backends that keep them (a docker label). from_json throws Errc::backend on text it did
// not write.
HUTCH_API std::string defaults_to_json(const ImageDefaults& defaults);
HUTCH_API ImageDefaults defaults_from_json(const std::string& text);

}  // namespace hutch
