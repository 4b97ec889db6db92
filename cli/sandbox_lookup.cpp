#include "sandbox_lookup.hpp"

#include <hutch/error.hpp>

#include <iostream>

namespace hutch::cli {

namespace {

// What asking every backend for one id found.
struct Search {
  std::vector<OwnedSandbox> owners;
  std::vector<std::string> asked;                           // backends that do not have it
  std::vector<std::pair<std::string, std::string>> failed;  // backend, why it could not be asked
};

Search search_all(Session& session, const std::string& id) {
  Search search;
  for (const std::string& name : session.searched_backend_names()) {
    try {
      SandboxBackend& backend = session.backend_named(name);
      search.owners.push_back({&backend, backend.resume(id)});
    } catch (const Error& error) {
      if (error.code() == Errc::not_found)
        search.asked.push_back(name);
      else
        search.failed.emplace_back(name, error.what());
    }
  }
  return search;
}

std::string quoted_list(const std::vector<std::string>& names) {
  std::string text;
  for (const std::string& name : names) text += (text.empty() ? "'" : ", '") + name + "'";
  return text;
}

// Errc::invalid_argument when several backends claim `id`.
void require_one_owner(const Search& search, const std::string& id) {
  if (search.owners.size() < 2) return;
  std::vector<std::string> names;
  for (const OwnedSandbox& owner : search.owners) names.push_back(owner.backend->name());
  throw Error(Errc::invalid_argument, "sandbox id '" + id + "' is claimed by several backends: " +
                                          quoted_list(names) + "; choose one with --backend");
}

std::string could_not_ask(const Search& search) {
  std::string text;
  for (const auto& [name, why] : search.failed) text += (text.empty() ? "" : "; ") + ("'" + name + "': " + why);
  return text;
}

}  // namespace

void warn_unavailable(const std::string& backend, const std::string& message) {
  std::cout.flush();
  std::cerr << "hutch: warning: backend '" << backend << "' is not available: " << message << std::endl;
}

OwnedSandbox find_sandbox(Session& session, const std::string& id) {
  if (session.searched_backend_names().size() == 1) {
    SandboxBackend& backend = session.backend();
    return {&backend, backend.resume(id)};
  }
  Search search = search_all(session, id);
  require_one_owner(search, id);
  if (search.owners.size() == 1) return search.owners.front();
  std::string message = "no sandbox '" + id + "'";
  if (!search.asked.empty()) message += " on backend" + std::string(search.asked.size() > 1 ? "s " : " ") + quoted_list(search.asked);
  if (!search.failed.empty()) message += " (could not ask " + could_not_ask(search) + ")";
  throw Error(Errc::not_found, message);
}

OwnedSandbox find_sandbox_with(Session& session, const std::string& id, bool Capabilities::*capability,
                               const std::string& verb) {
  if (session.searched_backend_names().size() == 1) {
    SandboxBackend& backend = session.backend_with(capability, verb);
    return {&backend, backend.resume(id)};
  }
  OwnedSandbox owned = find_sandbox(session, id);
  if (!(owned.backend->capabilities().*capability)) throw_unsupported(owned.backend->name(), verb);
  return owned;
}

SandboxBackend* owner_if_any(Session& session, const std::string& id) {
  if (session.searched_backend_names().size() == 1) return &session.backend();
  Search search = search_all(session, id);
  require_one_owner(search, id);
  for (const auto& [name, why] : search.failed) warn_unavailable(name, why);
  return search.owners.empty() ? nullptr : search.owners.front().backend;
}

std::vector<SandboxBackend*> available_backends(Session& session) {
  const std::vector<std::string> names = session.searched_backend_names();
  if (names.size() == 1) return {&session.backend()};
  std::vector<SandboxBackend*> backends;
  for (const std::string& name : names) {
    try {
      backends.push_back(&session.backend_named(name));
    } catch (const Error& error) {
      warn_unavailable(name, error.what());
    }
  }
  return backends;
}

}  // namespace hutch::cli
