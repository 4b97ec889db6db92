#include <hutch/backend.hpp>
#include <hutch/error.hpp>

#include <cerrno>
#include <cstring>
#include <string>

namespace hutch {

std::string_view to_string(Errc code) noexcept {
  switch (code) {
    case Errc::invalid_argument: return "invalid_argument";
    case Errc::config: return "config";
    case Errc::not_found: return "not_found";
    case Errc::already_exists: return "already_exists";
    case Errc::unsupported: return "unsupported";
    case Errc::permission_denied: return "permission_denied";
    case Errc::timeout: return "timeout";
    case Errc::plugin: return "plugin";
    case Errc::backend: return "backend";
    case Errc::io: return "io";
    case Errc::state: return "state";
    case Errc::unauthenticated: return "unauthenticated";
    case Errc::too_large: return "too_large";
    case Errc::rate_limited: return "rate_limited";
  }
  return "unknown";
}

Error::Error(Errc code, const std::string& message) : std::runtime_error(message), code_(code) {}

// Out of line on purpose: the key function puts Error's vtable and typeinfo in libhutch only,
// so a plugin's throw and the host's catch agree on the type.
Error::~Error() = default;

void throw_system_error(std::string_view what, int err) {
  Errc code = Errc::backend;
  if (err == ENOENT) code = Errc::not_found;
  else if (err == EEXIST) code = Errc::already_exists;
  else if (err == EACCES || err == EPERM) code = Errc::permission_denied;
  else if (err == EINVAL) code = Errc::invalid_argument;
  else if (err == EIO || err == ENOSPC || err == EPIPE) code = Errc::io;
  throw Error(code, std::string(what) + ": " + std::strerror(err));
}

void throw_unsupported(const std::string& backend, const std::string& verb) {
  throw Error(Errc::unsupported, "backend '" + backend + "' does not support " + verb);
}

}  // namespace hutch
