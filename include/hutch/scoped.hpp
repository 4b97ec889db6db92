// ScopedSandbox: a temporary sandbox destroyed on every path out of a scope (StartOS's
// withTemp). Move-only. Destruction errors are logged by the backend, never thrown.
#pragma once

#include <hutch/backend.hpp>
#include <hutch/handle.hpp>

#include <memory>
#include <utility>

namespace hutch {

class ScopedSandbox {
 public:
  ScopedSandbox(SandboxBackend& backend, const SandboxSpec& spec) : handle_(backend.create(spec)) {}
  // Adopts a sandbox made another way (SandboxBackend::restore, Handle::fork, resume).
  explicit ScopedSandbox(std::shared_ptr<Handle> handle) : handle_(std::move(handle)) {}
  ScopedSandbox(ScopedSandbox&&) noexcept = default;
  ScopedSandbox& operator=(ScopedSandbox&& other) noexcept {
    if (this != &other) {
      reset();
      handle_ = std::move(other.handle_);
    }
    return *this;
  }
  ScopedSandbox(const ScopedSandbox&) = delete;
  ScopedSandbox& operator=(const ScopedSandbox&) = delete;
  ~ScopedSandbox() { reset(); }

  Handle& operator*() const { return *handle_; }
  Handle* operator->() const { return handle_.get(); }
  const std::shared_ptr<Handle>& handle() const { return handle_; }

  // Keeps the sandbox alive past the scope and returns it.
  std::shared_ptr<Handle> release() { return std::exchange(handle_, nullptr); }

 private:
  void reset() noexcept {
    if (!handle_) return;
    try {
      handle_->destroy();
    } catch (...) {
      // A destructor must not throw; the sandbox is left for `hutch prune`.
    }
    handle_.reset();
  }
  std::shared_ptr<Handle> handle_;
};

// Runs fn(handle) on a temporary sandbox and destroys it afterwards, also when fn throws.
template <class Fn>
decltype(auto) with_temp_sandbox(SandboxBackend& backend, const SandboxSpec& spec, Fn&& fn) {
  ScopedSandbox sandbox(backend, spec);
  return std::forward<Fn>(fn)(*sandbox);
}

}  // namespace hutch
