// One id space over every backend the CLI looks in (Session::searched_backend_names): a verb
// that takes a sandbox id finds the backend that owns it, so `hutch --backend docker create`
// followed by `hutch exec ID` (no --backend) works.
//
// With one backend to look in (--backend given, or nothing but the default configured), that
// backend is used as it is, without asking it first. With several, each is asked for the id
// (SandboxBackend::resume: one cheap lookup per backend, and the handle the verb needs anyway);
// an id that two backends claim is an error naming both, and a backend that cannot be loaded or
// reached is named in the error when no other one has the id.
#pragma once

#include "session.hpp"

#include <hutch/backend.hpp>
#include <hutch/handle.hpp>

#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace hutch::cli {

struct OwnedSandbox {
  SandboxBackend* backend = nullptr;
  std::shared_ptr<Handle> handle;
};

// The sandbox `id` and its backend. Errc::not_found "no sandbox 'ID' on backends a, b (c could
// not be asked: ...)" when none has it, Errc::invalid_argument when several claim it; with one
// backend, that backend's own error.
OwnedSandbox find_sandbox(Session& session, const std::string& id);

// The same, for a verb that needs `capability`: Errc::unsupported "backend 'B' does not support
// <verb>" from the owner's capabilities — with one backend, before any engine is contacted.
OwnedSandbox find_sandbox_with(Session& session, const std::string& id, bool Capabilities::*capability,
                               const std::string& verb);

// For `rm -f`: the backend that owns `id`, or nullptr when none of them has it. A backend that
// could not be asked gets a warning on stderr; with one backend, that backend (never asked).
SandboxBackend* owner_if_any(Session& session, const std::string& id);

// Each backend the CLI looks in, loaded, in order; one that does not load gets a one-line
// warning on stderr and is left out. With one backend (--backend, or only the default), its
// failure to load is an error.
std::vector<SandboxBackend*> available_backends(Session& session);

// Prints "hutch: warning: backend 'NAME' is not available: MESSAGE" on stderr.
void warn_unavailable(const std::string& backend, const std::string& message);

}  // namespace hutch::cli
