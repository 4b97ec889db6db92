// The native fork of subcontainer: freeze the source, copy its overlay upper layer into the
// new sandbox's, thaw, start the new sandbox on the same image layers.
#pragma once

#include "runtime.hpp"

#include <hutch/fork.hpp>

namespace hutch::subcontainer {

class SubcontainerForkFactory final : public ForkFactory {
 public:
  explicit SubcontainerForkFactory(std::shared_ptr<Runtime> runtime) : runtime_(std::move(runtime)) {}
  // Errc::invalid_argument when `source` is not a subcontainer sandbox.
  std::shared_ptr<Handle> fork(Handle& source) override;

 private:
  std::shared_ptr<Runtime> runtime_;
};

}  // namespace hutch::subcontainer
