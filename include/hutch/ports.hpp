// Published ports (SandboxSpec::ports, Handle::ports): the `--publish` syntax, the checks every
// backend and front end applies, and how a binding is shown to people. Written once here so
// that the CLI, the service and both backends say the same thing about the same value.
#pragma once

#include <hutch/export.hpp>
#include <hutch/types.hpp>

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace hutch {

// `[HOST_IP:]HOST_PORT:SANDBOX_PORT[/tcp|udp]` (docker -p), or a bare SANDBOX_PORT (a free
// host port on 127.0.0.1). An IPv6 host address goes in brackets: "[::1]:8080:80". HOST_IP
// defaults to 127.0.0.1, HOST_PORT 0 means "pick a free one", the protocol defaults to tcp.
// Errc::invalid_argument naming the value and what is wrong with it (a port out of 0..65535
// or 1..65535 for the sandbox's, an address that is not an IP address, a protocol that is not
// tcp or udp). The result passes port_mapping_problem.
HUTCH_API PortMapping parse_port_mapping(std::string_view text);
// The inverse of parse_port_mapping, every part written: "127.0.0.1:8080:80/tcp",
// "[::1]:0:53/udp".
HUTCH_API std::string format_port_mapping(const PortMapping& mapping);

// What is wrong with one mapping, or nullopt: sandbox_port 0, or a host_ip that is not an IPv4
// or IPv6 address.
HUTCH_API std::optional<std::string> port_mapping_problem(const PortMapping& mapping);
// Every mapping's problem, then two mappings that would bind the same host port (same
// protocol and port, and the same address or either one a wildcard: 0.0.0.0, ::), then
// mappings without network "bridge". Errc::invalid_argument naming the mapping as
// --publish writes it ("published port 2 (127.0.0.1:8080:80/tcp): ...").
HUTCH_API void validate_ports(const std::vector<PortMapping>& ports, NetworkMode network);

// Whether `address` is a wildcard address (0.0.0.0, ::): every address of the host.
HUTCH_API bool is_wildcard_address(const std::string& address);
// Whether `address` is a loopback address (127.0.0.0/8, ::1).
HUTCH_API bool is_loopback_address(const std::string& address);

// Where a client on this host connects: "127.0.0.1:32768", "[::1]:8080"; a wildcard binding is
// reached through loopback (0.0.0.0 -> 127.0.0.1, :: -> [::1]).
HUTCH_API std::string connect_address(const PortBinding& binding);
// "http://" + connect_address for a TCP binding (HTTP is what people publish most); nullopt for
// UDP.
HUTCH_API std::optional<std::string> http_url(const PortBinding& binding);
// "127.0.0.1:32768->80/tcp", as `docker ps` shows a binding.
HUTCH_API std::string describe(const PortBinding& binding);

}  // namespace hutch
