// The one error model of hutch. Every failure that crosses a hutch interface — from the core,
// from a plugin, from the CLI — is a hutch::Error carrying a code from the list below and a
// message that says what failed, on which object, and (where it helps) what to do.
//
// The class is defined (its vtable and typeinfo) in libhutch, so an Error thrown inside a
// plugin is caught as hutch::Error in the host: both sides see the same type.
#pragma once

#include <hutch/export.hpp>

#include <stdexcept>
#include <string>
#include <string_view>

namespace hutch {

enum class Errc {
  invalid_argument,   // bad input from the caller: a spec field, an argument, a path
  config,             // a configuration file or table is wrong (message carries file:line:col)
  not_found,          // sandbox, image, file, plugin or snapshot does not exist
  already_exists,     // target exists and the call does not overwrite
  unsupported,        // the backend cannot do this verb (see Capabilities)
  permission_denied,  // refused by policy (bind prefix, path escaping the root) or the kernel
  timeout,            // a deadline passed (engine call, stream, wait)
  plugin,             // a plugin could not be loaded or is not a hutch plugin
  backend,            // the engine underneath failed (daemon error, kernel call failed)
  io,                 // reading or writing a file or stream failed
  state,              // the object is in the wrong state for this call (destroyed, paused)
  // The service's own (`hutch serve`, HTTP 401 / 413 / 429), also what the remote backend
  // reports for them. Appended, so the values above keep their numbers.
  unauthenticated,    // no credentials, or credentials that match no token
  too_large,          // a request body or field larger than the service accepts
  rate_limited,       // a cap on requests, streams or sandboxes was reached; try again later
};

// A short stable name for the code ("not_found", ...), for logs and --json output.
HUTCH_API std::string_view to_string(Errc code) noexcept;

class HUTCH_API Error : public std::runtime_error {
 public:
  Error(Errc code, const std::string& message);
  ~Error() override;

  Errc code() const noexcept { return code_; }

 private:
  Errc code_;
};

// Throws Error(Errc::backend) whose message is "<what>: <strerror(err)>". For kernel calls.
[[noreturn]] HUTCH_API void throw_system_error(std::string_view what, int err);

}  // namespace hutch
