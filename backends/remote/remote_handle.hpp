// RemoteHandle: one sandbox of the service, reached through /v1/sandboxes/{id}; RemoteFs: its
// files through /v1/sandboxes/{id}/files (content streamed both ways).
//
// A sandbox that is gone answers 404; the Handle contract wants Errc::state for that (calls
// after destroy), while a missing *file* stays Errc::not_found. So a 404 of a sandbox route is
// checked once more against GET /v1/sandboxes/{id}: if the sandbox itself is gone, the call
// fails with Errc::state.
#pragma once

#include "service_client.hpp"

#include <hutch/error.hpp>
#include <hutch/handle.hpp>

#include <boost/json/value.hpp>

#include <atomic>
#include <functional>
#include <memory>
#include <string>

namespace hutch::remote {

class RemoteHandle;

class RemoteFs final : public Fs {
 public:
  explicit RemoteFs(RemoteHandle& handle) : handle_(handle) {}

  void read_stream(const std::string& path, const ChunkSink& sink) override;
  void write_stream(const std::string& path, const ChunkSource& source, std::uint32_t mode) override;
  void mkdir(const std::string& path, bool parents, std::uint32_t mode) override;
  std::vector<DirEntry> list(const std::string& path) override;
  FileStat stat(const std::string& path) override;
  void remove(const std::string& path, bool recursive) override;
  void rename(const std::string& from, const std::string& to) override;
  void symlink(const std::string& target, const std::string& path) override;

 private:
  RemoteHandle& handle_;
};

class RemoteHandle final : public Handle {
 public:
  // `backend_name` is the remote backend's own name (what info().backend says).
  RemoteHandle(std::shared_ptr<ServiceClient> client, std::string backend_name, SandboxInfo info);

  std::string id() const override { return id_; }
  SandboxSpec spec() const override { return spec_; }
  SandboxInfo info() override;
  ExecResult exec(const ExecRequest& request) override;
  std::unique_ptr<Process> spawn(const ExecRequest& request) override;
  MainCommandInfo launch(const ExecRequest& request) override;
  void logs(const std::function<bool(std::string_view chunk)>& sink, bool follow) override;
  Fs& fs() override { return fs_; }
  std::shared_ptr<Handle> fork() override;
  SnapshotInfo snapshot(const std::string& label) override;
  void pause() override;
  void unpause() override;
  void stop() override;
  void start() override;
  void set_lifetime(const LifetimeUpdate& update) override;
  // PATCH /v1/sandboxes/{id} {"egress": [...]}.
  void set_egress(const std::vector<EgressRule>& rules) override;
  Stats stats() override;
  // GET /v1/sandboxes/{id}/ports: the addresses are the service host's (its 127.0.0.1 is
  // reachable from this host only when the service runs here, or through a tunnel).
  std::vector<PortBinding> ports() override;
  void destroy() override;

  // "/v1/sandboxes/<id><suffix>".
  std::string target(const std::string& suffix = "") const;
  // Runs `call` on this sandbox: Errc::state once it was destroyed or is gone (see above).
  template <class Call>
  auto guarded(Call&& call) -> decltype(call()) {
    check_not_destroyed();
    try {
      return call();
    } catch (const Error& error) {
      if (error.code() == Errc::not_found) throw_if_gone();
      throw;
    }
  }
  ServiceClient& client() { return *client_; }

 protected:
  std::string backend_name() const override { return backend_name_; }

 private:
  void check_not_destroyed() const;
  void throw_if_gone();
  // POST /v1/sandboxes/{id}/<verb> with no body.
  void verb(const std::string& name);

  std::shared_ptr<ServiceClient> client_;
  std::string backend_name_;
  std::string id_;
  SandboxSpec spec_;
  std::atomic<bool> destroyed_{false};
  RemoteFs fs_{*this};
};

// The info the service answers, with `backend_name` for its backend (the remote one is what
// made it, as far as the caller knows).
SandboxInfo remote_info(const boost::json::value& document, const std::string& backend_name);

}  // namespace hutch::remote
