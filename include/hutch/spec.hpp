// Checking and building specs — shared by the CLI, the config and every backend so each rule
// is written once.
#pragma once

#include <hutch/export.hpp>
#include <hutch/types.hpp>

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace hutch {

// Throws Error(invalid_argument) naming the field for: a relative workdir or mount target, an
// empty volume/bind source, a target given twice, zero or negative limits, a label key using
// the reserved "hutch." prefix, an env key that is empty or contains '=' or NUL.
HUTCH_API void validate(const SandboxSpec& spec);
// The egress part of validate(spec), for rules that change later (Handle::set_egress): each
// destination is "all", an address or network without host bits or a domain, and rules need
// network "bridge". Errc::invalid_argument naming the rule ("egress rule 2 (deny): ...") or the
// network.
// What is wrong with one egress destination, or nullopt: it is "all", an IPv4/IPv6 address
// with an optional prefix length and no bits set past it ("'10.0.0.1/8' has bits set past its
// prefix length /8"), or a domain: "example.com" (that name) or "*.example.com" (the names
// below it), in letters, digits and '-' ("'a..b': empty label ...").
HUTCH_API std::optional<std::string> egress_destination_problem(const std::string& destination);
HUTCH_API void validate_egress(const std::vector<EgressRule>& rules, NetworkMode network);
// Throws for an empty argv (unless use_entrypoint), a relative cwd, a bad env key, a zero timeout.
HUTCH_API void validate(const ExecRequest& request);
// validate(request), and what a main command cannot have (Handle::launch): stdin_data, a
// timeout.
HUTCH_API void validate_launch(const ExecRequest& request);

// Parses the CLI/config mount syntax:
//   type=volume|bind|tmpfs|assets|pointer|backup,src=...,dst=...[,ro][,kind=file|dir]
//   [,subpath=...][,idmap=FROM:TO:RANGE][,size=64m]
// ("source"/"target"/"destination" and "readonly" are accepted aliases.)
HUTCH_API Mount parse_mount(std::string_view text);
HUTCH_API std::string format_mount(const Mount& mount);

// "K=V" -> {K, V}; throws when there is no '=' or the key is empty.
HUTCH_API std::pair<std::string, std::string> parse_key_value(std::string_view text,
                                                           std::string_view what);

// Fills the fields of `spec` that are unset from `defaults` (image, workdir, user, limits —
// a limit unlimited in `spec` stays so, one unlimited in `defaults` becomes so —, stop_grace,
// max_file_bytes, workspace, env entries not already present). Network and read_only_root come from `spec`.
HUTCH_API SandboxSpec merge_defaults(SandboxSpec spec, const SandboxSpec& defaults);

// The safe defaults for untrusted code: memory kDefaultMemoryBytes and pids kDefaultPids where
// the spec leaves them unset and not unlimited, marked *_defaulted (see Limits). Applied by the
// loader's backend proxy to every create and restore, so every host and backend gets them.
HUTCH_API SandboxSpec apply_safe_defaults(SandboxSpec spec);

// `limits` without the safe defaults apply_safe_defaults put there (the *_defaulted ones):
// what was asked for. A backend that cannot enforce limits on a host creates its sandboxes
// with these (and says so in SandboxBackend::warnings()); any limit left is an error there.
HUTCH_API Limits asked_limits(Limits limits);

// Whether a limit written in TOML, the CLI or JSON says "unlimited" (any other text is a size
// or a number, for the caller to parse).
HUTCH_API bool is_unlimited(std::string_view text) noexcept;

}  // namespace hutch
