#include "fork_factory.hpp"

#include "handle.hpp"
#include "layer_copy.hpp"
#include "lifecycle.hpp"

#include <hutch/error.hpp>

namespace hutch::subcontainer {

std::shared_ptr<Handle> SubcontainerForkFactory::fork(Handle& source) {
  auto* sandbox = dynamic_cast<SubcontainerHandle*>(&source);
  if (sandbox == nullptr)
    throw Error(Errc::invalid_argument, "subcontainer fork: sandbox " + source.id() + " is not a subcontainer sandbox");
  SandboxSpec spec = sandbox->spec();
  spec.image = sandbox->record().image_ref;
  auto source_upper = sandbox->paths().upper;
  return create_sandbox(runtime_, spec, [&](const std::filesystem::path& upper) {
    sandbox->with_frozen([&] { copy_layer(source_upper, upper); });
  });
}

}  // namespace hutch::subcontainer
