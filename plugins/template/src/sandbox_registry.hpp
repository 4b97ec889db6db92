// The sandboxes one template backend has made, shared by the backend and its handles.
//
// A real backend asks its engine instead (docker: list containers by label; subcontainer: its
// state directory), so sandboxes survive the process. This one keeps them in memory: they
// live as long as the process that created them (Capabilities::persistent is false).
#pragma once

#include "memory_fs.hpp"

#include <hutch/types.hpp>

#include <atomic>
#include <chrono>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

namespace hutch_template {

struct Sandbox {
  Sandbox(const std::string& sandbox_id, hutch::SandboxSpec sandbox_spec, hutch::Labels sandbox_labels)
      : id(sandbox_id), spec(std::move(sandbox_spec)), labels(std::move(sandbox_labels)), fs(sandbox_id, spec.max_file_bytes) {}

  const std::string id;
  const hutch::SandboxSpec spec;
  const hutch::Labels labels;  // the user's and the hutch.* ones
  const std::chrono::system_clock::time_point created = std::chrono::system_clock::now();
  MemoryFs fs;
  // Handle::stop / Handle::start. A real backend stops its processes (SIGTERM, then SIGKILL
  // after spec.stop_grace) and keeps the files; this one runs no processes.
  std::atomic<bool> stopped{false};
  // Handle::set_lifetime: when the ttl ends the sandbox (unix ms; 0: none). A real backend
  // gives it to something that outlives the caller (its PID 1) to enforce; this one only
  // reports it (SandboxInfo::expires_at, and the state `expired` once it has passed).
  std::atomic<std::int64_t> ttl_deadline_ms{
      spec.ttl ? std::chrono::duration_cast<std::chrono::milliseconds>((created + *spec.ttl).time_since_epoch()).count()
               : 0};
};

class SandboxRegistry {
 public:
  explicit SandboxRegistry(std::string backend_name) : backend_name_(std::move(backend_name)) {}

  const std::string& backend_name() const { return backend_name_; }

  void add(std::shared_ptr<Sandbox> sandbox);
  // Null when there is no such sandbox (never made, or destroyed).
  std::shared_ptr<Sandbox> find(const std::string& id) const;
  std::vector<std::shared_ptr<Sandbox>> all() const;
  std::size_t size() const;
  // Forgets the sandbox and closes its Fs, so handles still pointing at it see Errc::state.
  // Unknown ids are ignored.
  void remove(const std::string& id);

 private:
  const std::string backend_name_;
  mutable std::mutex mutex_;
  std::map<std::string, std::shared_ptr<Sandbox>> sandboxes_;
};

}  // namespace hutch_template
