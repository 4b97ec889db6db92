// E2B's lifecycle of a sandbox: what its timeout does (end it, or pause it: the API's autoPause,
// the SDK's `lifecycle.onTimeout`), whether the pause keeps memory (autoPauseMemory: false is a
// filesystem-only pause, which hutch makes a Handle::stop, and the resume a Handle::start), and
// whether traffic resumes it (autoResume). Kept in the sandbox's labels (e2b.*, not part of the
// metadata E2B shows), so every request and a restarted service read the same.
#pragma once

#include <hutch/types.hpp>

#include <boost/json/object.hpp>

#include <optional>

namespace hutch::server::e2b {

// The labels, all E2B's own (a create's metadata may not name e2b.* keys).
inline constexpr const char* kLabelPrefix = "e2b.";
inline constexpr const char* kLabelOnTimeout = "e2b.on-timeout";        // "pause"; absent: the timeout ends it
inline constexpr const char* kLabelKeepMemory = "e2b.keep-memory";      // "false": a filesystem-only pause
inline constexpr const char* kLabelAutoResume = "e2b.auto-resume";      // "true": envd or port traffic resumes it
inline constexpr const char* kLabelTimeoutSeconds = "e2b.timeout-seconds";  // the timeout a resume grants again

struct Lifecycle {
  bool pause_on_timeout = false;
  bool keep_memory = true;
  bool auto_resume = false;
  Duration timeout{};  // the create's timeout
};

// A create's lifecycle fields (autoPause, autoPauseMemory, autoResume.enabled) with its
// timeout. Errc::invalid_argument naming the field for a wrong type, or for autoResume or
// autoPauseMemory without autoPause, or autoResume with a filesystem-only pause (as E2B refuses).
Lifecycle lifecycle_field(const boost::json::object& body, Duration timeout);
// The labels that record `lifecycle` (none for a sandbox its timeout ends).
Labels lifecycle_labels(const Lifecycle& lifecycle);
// What `labels` recorded.
Lifecycle lifecycle_of(const Labels& labels);
// E2B's SandboxLifecycle for sandbox info: {"onTimeout": "kill"|"pause", "autoResume": bool}.
boost::json::object lifecycle_json(const Labels& labels);

// Whether E2B sees the sandbox paused: frozen, or stopped by a filesystem-only auto-pause.
bool paused_for_e2b(const SandboxInfo& info);
// Whether E2B sees the sandbox at all (running or paused_for_e2b): anything else has ended.
bool alive_for_e2b(const SandboxInfo& info);

}  // namespace hutch::server::e2b
