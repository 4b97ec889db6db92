// The fields an untrusted client may not set (see <hutch/untrusted_spec.hpp>).
#include <hutch/error.hpp>
#include <hutch/ports.hpp>
#include <hutch/untrusted_spec.hpp>

#include <string>

namespace hutch {

void refuse_host_only_fields(const SandboxSpec& spec) {
  for (std::size_t i = 0; i < spec.files.size(); ++i) {
    if (spec.files[i].source.empty()) continue;
    const std::string field = "files[" + std::to_string(i) + "]";
    throw Error(Errc::invalid_argument, field + ".source ('" + spec.files[i].source +
                                             "') names a host file: only a local caller may use it; send the bytes as " +
                                             field + ".content");
  }
  for (std::size_t i = 0; i < spec.ports.size(); ++i) {
    const std::string& address = spec.ports[i].host_ip;
    if (is_loopback_address(address)) continue;
    throw Error(Errc::invalid_argument, "ports[" + std::to_string(i) + "].host_ip ('" + address +
                                            "') would publish on the host's network: only a local caller may; leave it "
                                            "out for 127.0.0.1");
  }
}

}  // namespace hutch
