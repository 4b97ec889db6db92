// The default implementations of Process's optional methods.
#include <hutch/error.hpp>
#include <hutch/process.hpp>

namespace hutch {

void Process::resize(std::uint16_t, std::uint16_t) {
  throw Error(Errc::unsupported, "resize: this backend cannot resize a command's terminal");
}

}  // namespace hutch
