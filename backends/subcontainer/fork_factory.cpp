#include "fork_factory.hpp"

#include "handle.hpp"
#include "layer_copy.hpp"
#include "lifecycle.hpp"

#include <hutch/error.hpp>

#include <algorithm>

namespace hutch::subcontainer {

std::shared_ptr<Handle> SubcontainerForkFactory::fork(Handle& source) {
  auto* sandbox = dynamic_cast<SubcontainerHandle*>(&source);
  if (sandbox == nullptr)
    throw Error(Errc::invalid_argument, "subcontainer fork: sandbox " + source.id() + " is not a subcontainer sandbox");
  SandboxSpec spec = sandbox->spec();
  spec.image = sandbox->record().image_ref;
  auto source_upper = sandbox->paths().upper;
  const SandboxRecord& from = sandbox->record();
  return create_sandbox(runtime_, spec, [&](const std::filesystem::path& upper, const IdRange& ids) {
    // The fork has a range of its own: its copy of the layer moves into it.
    IdShift shift;
    if (!runtime_->rootless) shift = {from.root_uid, from.root_gid, ids.first, ids.first, std::min(from.id_count, ids.count)};
    sandbox->with_frozen([&] { copy_layer(source_upper, upper, shift); });
  });
}

}  // namespace hutch::subcontainer
