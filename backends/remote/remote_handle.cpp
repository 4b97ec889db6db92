#include "remote_handle.hpp"

#include "exec_request_json.hpp"
#include "remote_process.hpp"
#include "values_json.hpp"

#include <hutch/error.hpp>
#include <hutch/spec_json.hpp>

#include <boost/json.hpp>

namespace hutch::remote {

namespace json = boost::json;

SandboxInfo remote_info(const json::value& document, const std::string& backend_name) {
  SandboxInfo info = json_io::sandbox_info_from_json(document);
  info.backend = backend_name;
  return info;
}

RemoteHandle::RemoteHandle(std::shared_ptr<ServiceClient> client, std::string backend_name, SandboxInfo info)
    : client_(std::move(client)), backend_name_(std::move(backend_name)), id_(info.id), spec_(std::move(info.spec)) {}

std::string RemoteHandle::target(const std::string& suffix) const { return "/v1/sandboxes/" + encode(id_) + suffix; }

void RemoteHandle::check_not_destroyed() const {
  if (destroyed_) throw Error(Errc::state, "sandbox " + id_ + " was destroyed");
}

void RemoteHandle::throw_if_gone() {
  try {
    client_->call("GET", target());
  } catch (const Error& error) {
    if (error.code() == Errc::not_found) throw Error(Errc::state, "sandbox " + id_ + " is gone (destroyed)");
  }
}

SandboxInfo RemoteHandle::info() {
  return guarded([&] { return remote_info(client_->call("GET", target()), backend_name_); });
}

ExecResult RemoteHandle::exec(const ExecRequest& request) {
  if (request.argv.empty()) throw Error(Errc::invalid_argument, "exec in " + id_ + ": argv is empty");
  return guarded([&] { return json_io::exec_result_from_json(client_->call("POST", target("/exec"), json_io::to_json(request))); });
}

std::unique_ptr<Process> RemoteHandle::spawn(const ExecRequest& request) {
  if (request.argv.empty()) throw Error(Errc::invalid_argument, "spawn in " + id_ + ": argv is empty");
  return guarded([&]() -> std::unique_ptr<Process> {
    return std::make_unique<RemoteProcess>(client_->open_socket(target("/exec")), request);
  });
}

MainCommandInfo RemoteHandle::launch(const ExecRequest& request) {
  return guarded([&] { return json_io::main_command_from_json(client_->call("POST", target("/launch"), json_io::to_json(request))); });
}

void RemoteHandle::logs(const std::function<bool(std::string_view chunk)>& sink, bool follow) {
  guarded([&] { client_->download(target(follow ? "/logs?follow=1" : "/logs"), sink); });
}

std::shared_ptr<Handle> RemoteHandle::fork() {
  return guarded([&] {
    return std::make_shared<RemoteHandle>(client_, backend_name_, remote_info(client_->call("POST", target("/fork")), backend_name_));
  });
}

SnapshotInfo RemoteHandle::snapshot(const std::string& label) {
  return guarded([&] { return json_io::snapshot_from_json(client_->call("POST", target("/snapshot"), json::object{{"label", label}})); });
}

void RemoteHandle::verb(const std::string& name) {
  guarded([&] { client_->call("POST", target("/" + name)); });
}

void RemoteHandle::pause() { verb("pause"); }
void RemoteHandle::unpause() { verb("unpause"); }
void RemoteHandle::stop() { verb("stop"); }
void RemoteHandle::start() { verb("start"); }

void RemoteHandle::set_lifetime(const LifetimeUpdate& update) {
  json::object body;
  if (update.ttl) body["ttl_ms"] = update.ttl->count();
  if (update.idle_timeout) body["idle_timeout_ms"] = update.idle_timeout->count();
  guarded([&] { client_->call("PATCH", target(), body); });
}

void RemoteHandle::set_egress(const std::vector<EgressRule>& rules) {
  json::object body;
  body["egress"] = json::parse(egress_to_json(rules));
  // The answer is the sandbox, its spec with the new rules (spec() shows them).
  spec_ = guarded([&] { return remote_info(client_->call("PATCH", target(), body), backend_name_).spec; });
}

Stats RemoteHandle::stats() {
  return guarded([&] { return json_io::stats_from_json(client_->call("GET", target("/stats"))); });
}

std::vector<PortBinding> RemoteHandle::ports() {
  return guarded([&] {
    const json::value answer = client_->call("GET", target("/ports"));
    if (!answer.is_array()) throw Error(Errc::backend, "GET " + target("/ports") + ": not an array");
    std::vector<PortBinding> bindings;
    for (const auto& entry : answer.as_array()) bindings.push_back(json_io::port_binding_from_json(entry));
    return bindings;
  });
}

void RemoteHandle::destroy() {
  if (destroyed_) return;
  try {
    client_->call("DELETE", target());
  } catch (const Error& error) {
    if (error.code() != Errc::not_found) throw;  // destroyed elsewhere already: idempotent
  }
  destroyed_ = true;
}

// RemoteFs: each verb is one call; paths go as query parameters, checked by the service's
// backend (absolute, inside the sandbox).

void RemoteFs::read_stream(const std::string& path, const ChunkSink& sink) {
  handle_.guarded([&] { handle_.client().download(handle_.target("/files?path=" + encode(path)), sink); });
}

void RemoteFs::write_stream(const std::string& path, const ChunkSource& source, std::uint32_t mode) {
  char octal[16];
  std::snprintf(octal, sizeof octal, "%04o", mode & 07777);
  handle_.guarded([&] { handle_.client().upload(handle_.target("/files?path=" + encode(path) + "&mode=" + octal), source); });
}

void RemoteFs::mkdir(const std::string& path, bool parents, std::uint32_t mode) {
  handle_.guarded([&] {
    handle_.client().call("POST", handle_.target("/files/mkdir"), json::object{{"path", path}, {"parents", parents}, {"mode", mode}});
  });
}

std::vector<DirEntry> RemoteFs::list(const std::string& path) {
  return handle_.guarded([&] {
    const json::value answer = handle_.client().call("GET", handle_.target("/files/list?path=" + encode(path)));
    if (!answer.is_array()) throw Error(Errc::backend, "the service's directory listing of " + path + " is not an array");
    std::vector<DirEntry> entries;
    for (const auto& entry : answer.as_array()) entries.push_back(json_io::dir_entry_from_json(entry));
    return entries;
  });
}

FileStat RemoteFs::stat(const std::string& path) {
  return handle_.guarded([&] { return json_io::file_stat_from_json(handle_.client().call("GET", handle_.target("/files/stat?path=" + encode(path)))); });
}

void RemoteFs::remove(const std::string& path, bool recursive) {
  handle_.guarded([&] {
    handle_.client().call("DELETE", handle_.target("/files?path=" + encode(path) + (recursive ? "&recursive=true" : "")));
  });
}

void RemoteFs::rename(const std::string& from, const std::string& to) {
  handle_.guarded([&] { handle_.client().call("POST", handle_.target("/files/move"), json::object{{"from", from}, {"to", to}}); });
}

void RemoteFs::symlink(const std::string& target, const std::string& path) {
  handle_.guarded([&] {
    handle_.client().call("POST", handle_.target("/files/symlink"), json::object{{"target", target}, {"path", path}});
  });
}

}  // namespace hutch::remote
